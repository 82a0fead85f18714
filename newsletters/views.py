"""Reader pages: the demo article with its signup forms, the embed, and POST /subscribe.

Routed in newsletters/routes.py. Which forms a page shows, and where a refusal's message goes,
is newsletters/signup_forms.py; the signup itself is newsletters/services.py.
"""

from __future__ import annotations

from flask import abort, g, jsonify, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from addresses import InvalidEmail
from errors import api_error, wants_json
from extensions import client_address, db
from i18n import reader_language
from newsletters import services, signup_forms
from newsletters.forms import RATE_LIMITED_MESSAGE, SUCCESS_MESSAGE, SignupForm
from newsletters.limits import signup_limits
from newsletters.models import SOURCE_EMBED
from newsletters.schemas import ERROR_CODES
from newsletters.signup_forms import SignupFailure
from security import embeddable


def article():
    return _render_article(signup_forms.article_forms(request.url))


def _render_article(forms: list[signup_forms.FormState], status: int = 200):
    return render_template("newsletters/article.html", forms=forms), status


@embeddable
def embed_signup():
    slug = request.args.get("newsletter", "").strip() or None
    # The page that framed us: what the reader was reading when they signed up.
    form = signup_forms.embed_form(slug, source_url=request.referrer)
    if form is None:
        abort(404)
    return render_template("newsletters/embed.html", form=form)


@signup_limits
def subscribe():
    if request.is_json:  # the form's fields, never a JSON body (that is /api/subscriptions)
        abort(400)
    form = SignupForm.from_form(request.form, request.referrer)
    # The honeypot answers exactly as a success does, and stores and sends nothing.
    if not form.is_bot:
        try:
            signup = form.signup_request(
                client_address(), request.user_agent.string, reader_language()
            )
            services.signup_and_commit(signup)
        except (InvalidEmail, services.UnknownNewsletter) as refusal:
            db.session.rollback()
            return _signup_failed(SignupFailure.of(form, refusal))
    return _signed_up(form)


def too_many_signups(_exc):
    form = _posted_signup() if request.endpoint == "newsletters.subscribe" else None
    if form is not None:
        return _signup_failed(SignupFailure(form, "email", str(RATE_LIMITED_MESSAGE)), status=429)
    if wants_json():
        return api_error(429, "rate_limited", str(RATE_LIMITED_MESSAGE))
    return render_template("error.html", status=429, message=str(RATE_LIMITED_MESSAGE)), 429


def _posted_signup() -> SignupForm | None:
    """The signup form as posted, or None when its body is too large to read."""
    try:
        return SignupForm.from_form(request.form, request.referrer)
    except RequestEntityTooLarge:
        return None


def _signed_up(form: SignupForm):
    g.embeddable = form.source == SOURCE_EMBED
    if wants_json():  # the form submitted in place by static/js/signup.js
        return jsonify({"status": "pending", "message": str(SUCCESS_MESSAGE)}), 202
    template = "embed_done.html" if form.source == SOURCE_EMBED else "signup_done.html"
    return render_template(f"newsletters/{template}", message=str(SUCCESS_MESSAGE))


def _signup_failed(failure: SignupFailure, status: int = 422):
    g.embeddable = failure.form.source == SOURCE_EMBED
    if wants_json():
        if status == 429:
            return api_error(429, "rate_limited", failure.error)
        code = ERROR_CODES[failure.error_field]
        return api_error(status, code, failure.error, failure.error_field)
    if failure.form.source == SOURCE_EMBED:
        form = signup_forms.embed_form_after(failure)
        return render_template("newsletters/embed.html", form=form), status
    return _render_article(signup_forms.article_forms(request.url_root, failure), status)
