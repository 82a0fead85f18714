"""Which signup forms a page shows, and which of them carries the message when a signup fails.

The article has several forms between its paragraphs, the embed has one, and a link that is not
valid offers one to sign up again. A failed signup comes back on the form that was posted when it
can show the message by the right field; otherwise on the form that can.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_babel import gettext, lazy_gettext

from addresses import InvalidEmail
from newsletters.catalogue import OpenList
from newsletters.forms import EMAIL_ERROR, NEWSLETTER_ERROR, SignupForm
from newsletters.models import SOURCE_EMBED, SOURCE_PAGE
from newsletters.services import UnknownNewsletter, public_lists


@dataclass
class FormState:
    """One signup form on a page: which lists it offers and what the reader last sent."""

    id: str
    heading: str
    blurb: str
    newsletters: Sequence[OpenList]
    choose: bool  # checkboxes; otherwise one hidden list
    source: str = SOURCE_PAGE
    source_url: str | None = None
    email: str = ""
    checked: set[str] = field(default_factory=set)
    error_field: str | None = None
    error: str | None = None

    def show_failure(self, failed: SignupForm, error_field: str, error: str) -> None:
        """What the reader sent, with the message by the field it concerns."""
        self.email, self.error_field, self.error = failed.email, error_field, error
        if self.choose:
            self.checked = set(failed.newsletters)


@dataclass(frozen=True)
class SignupFailure:
    """A signup the service refused, to be shown on the page it came from."""

    form: SignupForm
    error_field: str  # "email" or "newsletters"
    error: str

    @classmethod
    def of(cls, form: SignupForm, refusal: InvalidEmail | UnknownNewsletter) -> SignupFailure:
        if isinstance(refusal, InvalidEmail):
            return cls(form, "email", str(EMAIL_ERROR))
        return cls(form, "newsletters", str(NEWSLETTER_ERROR))


# The forms placed between the article's paragraphs: (id, preferred list, heading, blurb),
# the words written in the page's language when it is shown.
ARTICLE_FORMS = [
    (
        "signup-explaining",
        "explaining-ukraine",
        lazy_gettext("Explaining Ukraine with Kate Tsurkan"),
        lazy_gettext("Every week, the story behind the story, in your inbox."),
    ),
    (
        "signup-choose",
        None,
        lazy_gettext("Get our newsletters"),
        lazy_gettext("Choose the newsletters you want to receive."),
    ),
    (
        "signup-briefing",
        "morning-briefing",
        lazy_gettext("Morning Briefing"),
        lazy_gettext("The news from Ukraine you need before your first coffee."),
    ),
]


def _defaults(lists: Sequence[OpenList]) -> set[str]:
    return {newsletter.slug for newsletter in lists if newsletter.is_default}


def article_forms(page_url: str, failure: SignupFailure | None = None) -> list[FormState]:
    """The article's forms for the open lists; after a failure, one of them shows it."""
    lists = public_lists()
    by_slug = {newsletter.slug: newsletter for newsletter in lists}
    forms = []
    for form_id, slug, heading, blurb in ARTICLE_FORMS:
        if slug is None and lists:
            offered, choose, checked = lists, True, _defaults(lists)
        elif slug in by_slug:
            offered, choose, checked = [by_slug[slug]], False, {slug}
        else:
            continue
        forms.append(
            FormState(
                form_id,
                str(heading),
                str(blurb),
                offered,
                choose,
                source_url=page_url,
                checked=checked,
            )
        )
    if failure is not None:
        _show_on_article(forms, failure)
    return forms


def _show_on_article(forms: list[FormState], failure: SignupFailure) -> None:
    posted = next((form for form in forms if form.id == failure.form.form_id), None)
    target = posted
    if failure.error_field == "newsletters" and (posted is None or not posted.choose):
        # A one-list form (or an old page, or another site's form) has no list to point at.
        target = next((form for form in forms if form.choose), posted)
    target = target or (forms[0] if forms else None)
    if target is None:
        return
    target.show_failure(failure.form, failure.error_field, failure.error)
    if target is posted:
        target.source_url = failure.form.source_url


def embed_form(slug: str | None, source_url: str | None = None) -> FormState | None:
    """The embed's one form: for the named open list (None when it is not one), else a chooser."""
    lists = public_lists()
    if slug:
        chosen = [newsletter for newsletter in lists if newsletter.slug == slug]
        if not chosen:
            return None
        only = chosen[0]
        form = FormState("embed", only.name, only.description, chosen, False, SOURCE_EMBED)
        form.checked = {slug}
    else:
        heading, blurb = gettext("Get our newsletters"), gettext("Choose the newsletters you want.")
        form = FormState("embed", heading, blurb, lists, True, SOURCE_EMBED)
        form.checked = _defaults(lists)
    form.source_url = source_url
    return form


def embed_form_after(failure: SignupFailure) -> FormState:
    """The embed again with the message; a list that is gone offers the lists there are."""
    named = failure.form.newsletters
    slug = named[0] if len(named) == 1 else None
    form = embed_form(slug, failure.form.source_url) or embed_form(None, failure.form.source_url)
    form.show_failure(failure.form, failure.error_field, failure.error)
    return form


def signup_again_forms() -> list[FormState]:
    """What a page about a broken link offers: a chooser of the open lists, if there are any."""
    lists = public_lists()
    if not lists:
        return []
    heading = gettext("Sign up again")
    blurb = gettext("We will send you a new confirmation email.")
    return [FormState("signup-again", heading, blurb, lists, True, checked=_defaults(lists))]
