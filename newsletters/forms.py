"""The signup form as posted by the article page, the embed and the in-place JavaScript.

Plain parsing rather than WTForms: the form is public, CSRF-exempt (a signup from another
site's page is the point of the embed), and every field is optional text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext, lazy_gettext
from werkzeug.datastructures import MultiDict

from newsletters.consent import FORM_WORDING
from newsletters.models import SOURCE_EMBED, SOURCE_PAGE
from newsletters.services import SignupRequest

# Lazy: each is written in the language of the request that shows it (str() it there).
EMAIL_ERROR = lazy_gettext("Please enter a correct email address")
NEWSLETTER_ERROR = lazy_gettext("Please choose one of our newsletters")
SUCCESS_MESSAGE = lazy_gettext("Thank you for signing up. We've sent you a confirmation email.")
RATE_LIMITED_MESSAGE = lazy_gettext(
    "Too many signups from here just now. Please wait a little and try again."
)


@dataclass
class SignupForm:
    email: str = ""
    newsletters: list[str] = field(default_factory=list)
    website: str = ""  # the honeypot: people never see it, bots fill it in
    source: str = SOURCE_PAGE
    source_url: str | None = None
    form_id: str = ""

    @classmethod
    def from_form(cls, form: MultiDict, referrer: str | None = None) -> SignupForm:
        source = form.get("source", SOURCE_PAGE)
        return cls(
            email=form.get("email", ""),
            newsletters=[slug for slug in form.getlist("newsletters") if slug],
            website=form.get("website", "").strip(),
            source=source if source in (SOURCE_PAGE, SOURCE_EMBED) else SOURCE_PAGE,
            source_url=form.get("source_url") or referrer,
            form_id=form.get("form_id", "")[:40],
        )

    @property
    def is_bot(self) -> bool:
        return bool(self.website)

    def signup_request(
        self, ip: str | None, user_agent: str | None, language: str | None = None
    ) -> SignupRequest:
        """The signup this form asks for, worded as the form's label (the default wording)."""
        return SignupRequest(
            email=self.email,
            slugs=self.newsletters,
            source=self.source,
            source_url=self.source_url,
            ip=ip,
            user_agent=user_agent,
            # The consent keeps the label as the reader read it, in the page's language.
            wording=gettext(FORM_WORDING),
            language=language,
        )
