"""A campaign as each reader gets it, rendered when the message goes out.

The Markdown is converted, sanitised and put into the mail templates once per version of a
campaign (its id and updated_at), language and app: that is the frame. What differs per reader
(their own unsubscribe and preferences links, the sentence saying since when they subscribed)
is then put into the frame by plain string replacement, which costs microseconds where a
template render costs a good fraction of a millisecond.
"""

from __future__ import annotations

import html
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from babel.dates import format_date
from flask import current_app, render_template
from flask_babel import force_locale, gettext
from markupsafe import Markup
from sqlalchemy import select

from campaigns import content
from campaigns.models import Campaign
from extensions import db
from i18n import DEFAULT_LANGUAGE, LANGUAGES, LONG_DATE
from mailer.rendering import RenderedMail
from mailer.services import list_id_header
from newsletters import links
from newsletters.models import Newsletter
from signing import external_url

# Per-reader values are written into the cached frame where these markers stand. A fresh
# random part per process: no campaign text can contain them by chance or on purpose.
_NONCE = secrets.token_hex(8)
UNSUBSCRIBE_MARK = f"\x1f{_NONCE}:unsubscribe\x1f"
PREFERENCES_MARK = f"\x1f{_NONCE}:preferences\x1f"
WHY_MARK = f"\x1f{_NONCE}:why\x1f"
DATE_MARK = f"\x1f{_NONCE}:date\x1f"

_MARKS = re.compile(f"\x1f{_NONCE}:(unsubscribe|preferences|why)\x1f")

FRAMES_KEPT = 32  # versions of campaigns one process keeps rendered


@dataclass(frozen=True)
class Blanks:
    """A rendered text cut at its markers: text, name, text, name, …, text. Filling it is one
    join, where replacing each marker would read the whole text once per marker."""

    parts: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Blanks:
        return cls(tuple(_MARKS.split(text)))

    def fill(self, values: dict[str, str]) -> str:
        parts = list(self.parts)
        parts[1::2] = [values[name] for name in self.parts[1::2]]
        return "".join(parts)


@dataclass(frozen=True)
class Frame:
    """What every reader of one version of a campaign in one language shares."""

    subject: str
    html: Blanks
    text: Blanks
    why_dated: str  # "… subscribed to <list> on <DATE_MARK>."
    why_undated: str  # for a reader with no confirmation date (an import, say)
    list_id: str
    list_slug: str
    language: str


@dataclass(frozen=True)
class Preview:
    html: str  # what sits inside the mail's <body>: the body and the footer
    text: str


def archive_url(newsletter: Newsletter) -> str:
    return external_url(f"/newsletters/{newsletter.slug}")


def _template_values(newsletter: Newsletter, subject: str, body: content.RenderedContent) -> dict:
    return {
        "subject": subject,
        "body_html": Markup(body.html),  # sanitised by campaigns.content
        "body_text": body.text.rstrip("\n"),
        "list_name": newsletter.name,
        "archive_url": archive_url(newsletter),
        "postal_address": current_app.config["ORG_POSTAL_ADDRESS"],
        "unsubscribe_url": UNSUBSCRIBE_MARK,
        "preferences_url": PREFERENCES_MARK,
        "why": WHY_MARK,
        "test": False,
    }


def build_frame(
    campaign: Campaign, newsletter: Newsletter, language: str, *, test: bool = False
) -> Frame:
    with force_locale(language):
        return _build_frame(campaign, newsletter, language, test)


def _build_frame(campaign: Campaign, newsletter: Newsletter, language: str, test: bool) -> Frame:
    body = content.render(campaign.body_markdown)
    values = _template_values(newsletter, campaign.subject, body) | {"test": test}
    subject = gettext("[Test] %(subject)s", subject=campaign.subject) if test else None
    return Frame(
        subject=subject or campaign.subject,
        html=Blanks.of(render_template("email/campaign.html", **values)),
        text=Blanks.of(render_template("email/campaign.txt", **values)),
        why_dated=gettext(
            "You get this because you subscribed to %(list)s on %(date)s.",
            list=newsletter.name,
            date=DATE_MARK,
        ),
        why_undated=_why_undated(newsletter),
        list_id=list_id_header(newsletter.name, newsletter.slug),
        list_slug=newsletter.slug,
        language=language,
    )


class _FrameCache:
    """The frames of the campaign versions this app rendered last, newest kept."""

    def __init__(self) -> None:
        self.frames: OrderedDict[tuple, Frame] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple, build: Callable[[], Frame]) -> Frame:
        with self.lock:
            frame = self.frames.get(key)
            if frame is not None:
                self.frames.move_to_end(key)
                return frame
        frame = build()
        with self.lock:
            self.frames[key] = frame
            while len(self.frames) > FRAMES_KEPT:
                self.frames.popitem(last=False)
        return frame


def _cache() -> _FrameCache:
    return current_app.extensions.setdefault("campaign_frames", _FrameCache())


def frame_for(campaign_id: int, language: str | None, *, test: bool = False) -> Frame | None:
    """The campaign's current frame in this language (one small query; rendered again only
    when the campaign changed); None for an unknown campaign."""
    row = db.session.execute(
        select(Campaign, Newsletter)
        .join(Newsletter, Newsletter.id == Campaign.newsletter_id)
        .where(Campaign.id == campaign_id)
    ).first()
    if row is None:
        return None
    campaign, newsletter = row
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    key = (campaign.id, campaign.updated_at, newsletter.name, language, test)
    return _cache().get(key, lambda: build_frame(campaign, newsletter, language, test=test))


def for_reader(
    frame: Frame, reader_links: links.ReaderLinks, subscriber_id: int, confirmed_at: datetime | None
) -> RenderedMail:
    """The frame with this reader's own links: their one-click unsubscribe from this list."""
    unsubscribe = reader_links.unsubscribe_url(subscriber_id, [frame.list_slug])
    preferences = reader_links.preferences_url(subscriber_id)
    if confirmed_at is None:
        why = frame.why_undated
    else:
        why = frame.why_dated.replace(DATE_MARK, _long_date(confirmed_at.date(), frame.language))
    values = {"unsubscribe": unsubscribe, "preferences": preferences, "why": why}
    return RenderedMail(
        subject=frame.subject,
        text_body=frame.text.fill(values),
        html_body=frame.html.fill({name: html.escape(value) for name, value in values.items()}),
        headers={
            "List-Id": frame.list_id,
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def for_test(frame: Frame) -> RenderedMail:
    """A test message: no List-* headers, since no reader's links may be in it."""
    return RenderedMail(frame.subject, frame.text.fill({}), frame.html.fill({}), headers={})


@lru_cache(maxsize=4096)
def _long_date(day: date, language: str) -> str:
    """As i18n.long_date writes it, without a locale switch per message (readers share days)."""
    return format_date(day, LONG_DATE, locale=language)


def _why_undated(newsletter: Newsletter) -> str:
    return gettext("You get this because you subscribed to %(list)s.", list=newsletter.name)


def preview(newsletter: Newsletter, subject: str, markdown: str) -> Preview:
    """The body and footer as a reader of the list gets them, with example links."""
    body = content.render(markdown)
    values = _template_values(newsletter, subject, body) | {
        "unsubscribe_url": external_url("/unsubscribe/…"),
        "preferences_url": external_url("/preferences/…"),
        "why": _why_undated(newsletter),
    }
    return Preview(
        html=render_template("email/_campaign_content.html", **values),
        text=render_template("email/campaign.txt", **values),
    )
