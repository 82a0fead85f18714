"""Reader pages: the demo article with its signup forms, the embed, and POST /subscribe.

The emailed-link pages (confirm, preferences, unsubscribe) live in newsletters/link_views.py
on the same blueprint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, g, jsonify, render_template, request
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from addresses import InvalidEmail
from errors import api_error, wants_json
from extensions import client_address, csrf, db
from newsletters import services
from newsletters.forms import (
    EMAIL_ERROR,
    EMAIL_LABEL,
    NEWSLETTER_ERROR,
    RATE_LIMITED_MESSAGE,
    SUCCESS_MESSAGE,
    SignupForm,
)
from newsletters.limits import signup_per_client, signup_per_email
from newsletters.models import SOURCE_EMBED, SOURCE_PAGE, Newsletter
from security import embeddable

bp = Blueprint("newsletters", __name__)
# Public forms: an outlet's page posting to us is the purpose, and no session is at stake.
csrf.exempt(bp)

ERROR_CODES = {"email": "invalid_email", "newsletters": "unknown_newsletter"}


@dataclass
class FormState:
    """One signup form on a page: which lists it offers and what the reader last sent."""

    id: str
    heading: str
    blurb: str
    newsletters: list[Newsletter]
    choose: bool  # checkboxes; otherwise one hidden list
    source: str = SOURCE_PAGE
    source_url: str | None = None
    email: str = ""
    checked: set[str] = field(default_factory=set)
    error_field: str | None = None
    error: str | None = None


# The forms placed between the article's paragraphs: (id, preferred list, heading, blurb).
ARTICLE_FORMS = [
    (
        "signup-explaining",
        "explaining-ukraine",
        "Explaining Ukraine with Kate Tsurkan",
        "Every week, the story behind the story, in your inbox.",
    ),
    ("signup-choose", None, "Get our newsletters", "Choose the newsletters you want to receive."),
    (
        "signup-briefing",
        "morning-briefing",
        "Morning Briefing",
        "The news from Ukraine you need before your first coffee.",
    ),
]


def _article_forms(lists: list[Newsletter], page_url: str) -> list[FormState]:
    by_slug = {newsletter.slug: newsletter for newsletter in lists}
    forms = []
    for form_id, slug, heading, blurb in ARTICLE_FORMS:
        if slug is None:
            offered, choose = lists, True
            checked = {n.slug for n in lists if n.is_default}
        elif slug in by_slug:
            offered, choose, checked = [by_slug[slug]], False, {slug}
        else:
            continue
        if offered:
            forms.append(
                FormState(
                    form_id, heading, blurb, offered, choose, source_url=page_url, checked=checked
                )
            )
    return forms


def _form_for_failure(forms: list[FormState], failed: SignupForm, error_field: str):
    """The form that shows the message: the one posted, if it can show it where it belongs."""
    posted = next((form for form in forms if form.id == failed.form_id), None)
    if error_field == "newsletters" and (posted is None or not posted.choose):
        # A one-list form (or an old page, or another site's form) has no list to point at.
        chooser = next((form for form in forms if form.choose), None)
        if chooser is not None:
            return chooser
    return posted or (forms[0] if forms else None)


def _render_article(failed: SignupForm | None = None, error_field=None, error=None, status=200):
    lists = services.public_lists()
    forms = _article_forms(lists, request.url_root if failed else request.url)
    target = _form_for_failure(forms, failed, error_field) if failed is not None else None
    if target is not None:
        target.email, target.error_field, target.error = failed.email, error_field, error
        if target.id == failed.form_id:
            target.source_url = failed.source_url
        if target.choose:
            target.checked = set(failed.newsletters)
    return render_template("newsletters/article.html", forms=forms), status


@bp.get("/")
def article():
    return _render_article()


def _embed_form(slug: str | None) -> FormState:
    lists = services.public_lists()
    if slug:
        chosen = [newsletter for newsletter in lists if newsletter.slug == slug]
        if not chosen:
            abort(404)
        newsletter = chosen[0]
        return FormState(
            "embed",
            newsletter.name,
            newsletter.description,
            chosen,
            False,
            source=SOURCE_EMBED,
            checked={slug},
        )
    return FormState(
        "embed",
        "Get our newsletters",
        "Choose the newsletters you want.",
        lists,
        True,
        source=SOURCE_EMBED,
        checked={n.slug for n in lists if n.is_default},
    )


@bp.get("/embed/signup")
@embeddable
def embed_signup():
    form = _embed_form(request.args.get("newsletter", "").strip() or None)
    # The page that framed us: what the reader was reading when they signed up.
    form.source_url = request.referrer
    return render_template("newsletters/embed.html", form=form)


def _render_embed_failure(failed: SignupForm, error_field: str, error: str, status: int):
    slug = failed.newsletters[0] if len(failed.newsletters) == 1 else None
    try:
        form = _embed_form(slug)
    except NotFound:  # an unknown list named by a stale embed: offer the lists we have
        form = _embed_form(None)
    form.email, form.error_field, form.error = failed.email, error_field, error
    form.source_url = failed.source_url
    if form.choose:
        form.checked = set(failed.newsletters)
    return render_template("newsletters/embed.html", form=form), status


def _form_failure(failed: SignupForm, error_field: str, error: str, status: int = 422):
    if wants_json():
        code = "rate_limited" if status == 429 else ERROR_CODES[error_field]
        return api_error(status, code, error, None if status == 429 else error_field)
    if failed.source == SOURCE_EMBED:
        return _render_embed_failure(failed, error_field, error, status)
    return _render_article(failed, error_field, error, status)


@bp.post("/subscribe")
@signup_per_client
@signup_per_email
def subscribe():
    form = SignupForm.from_form(request.form, request.referrer)
    if form.source == SOURCE_EMBED:
        g.embeddable = True
    # The honeypot answers exactly as a success does, and stores and sends nothing.
    if not form.is_bot:
        signup = services.SignupRequest(
            email=form.email,
            slugs=form.newsletters,
            source=form.source,
            source_url=form.source_url,
            ip=client_address(),
            user_agent=request.user_agent.string,
            wording=EMAIL_LABEL,
        )
        try:
            services.signup(signup)
            db.session.commit()
        except InvalidEmail:
            db.session.rollback()
            return _form_failure(form, "email", EMAIL_ERROR)
        except services.UnknownNewsletter:
            db.session.rollback()
            return _form_failure(form, "newsletters", NEWSLETTER_ERROR)
    if wants_json():
        return jsonify({"status": "pending", "message": SUCCESS_MESSAGE}), 202
    template = "embed_done.html" if form.source == SOURCE_EMBED else "signup_done.html"
    return render_template(f"newsletters/{template}", message=SUCCESS_MESSAGE)


def _posted_signup() -> SignupForm | None:
    """The signup form as posted, or None when its body is too large to read."""
    try:
        return SignupForm.from_form(request.form, request.referrer)
    except RequestEntityTooLarge:
        return None


@bp.errorhandler(429)
def too_many_signups(_exc):
    form = _posted_signup() if request.endpoint == "newsletters.subscribe" else None
    if form is not None:
        if form.source == SOURCE_EMBED:
            g.embeddable = True
        return _form_failure(form, "email", RATE_LIMITED_MESSAGE, status=429)
    if wants_json():
        return api_error(429, "rate_limited", RATE_LIMITED_MESSAGE)
    return render_template("error.html", status=429, message=RATE_LIMITED_MESSAGE), 429


from newsletters import link_views  # noqa: E402,F401  (registers the emailed-link pages on bp)
