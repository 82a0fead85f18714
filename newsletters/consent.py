"""A reader's opt-in as the consent record keeps it: where, from which address and agent, to
what wording, for which lists. The signup and the preferences page record one through here (an
import writes its batch's rows itself, with these same bounds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert

from database import utcnow
from extensions import db
from newsletters.catalogue import OpenList
from newsletters.models import Consent, Newsletter

# What the signup forms say, recorded with each opt-in as the wording the reader agreed to.
FORM_WORDING = "Enter your email to subscribe"
API_WORDING = "Subscription requested through the JSON API"
MAX_SOURCE_URL = 2000
MAX_USER_AGENT = 500


@dataclass(frozen=True)
class ConsentSource:
    """Where an opt-in came from and the words the reader agreed to, as the consent keeps them."""

    source: str  # page, embed or api
    wording: str
    source_url: str | None = None
    ip: str | None = None
    user_agent: str | None = None


_INSERT_CONSENT = insert(Consent.__table__).returning(Consent.__table__.c.id)


def record_consent(
    subscriber_id: int,
    newsletters: Sequence[OpenList | Newsletter],
    source: ConsentSource,
    confirmed_at: datetime | None = None,
) -> int:
    """The opt-in as the reader made it: where, from which address and agent, to what wording.

    Returns its id, which goes into the signed confirmation link.
    """
    values = {
        "subscriber_id": subscriber_id,
        "newsletter_slugs": slugs_key(newsletters),
        **consent_values(source),
        "signed_up_at": utcnow(),
    }
    values["wording"] = f"{source.wording} ({'; '.join(n.name for n in newsletters)})"
    if confirmed_at is not None:
        values["confirmed_at"] = confirmed_at
    return db.session.execute(_INSERT_CONSENT, values).scalar_one()


def consent_values(source: ConsentSource) -> dict:
    """Where the opt-in came from, bounded as the consent stores it; `wording` without the
    lists' names, which the consent adds."""
    return {
        "source": source.source,
        "source_url": _clip(source.source_url, MAX_SOURCE_URL),
        "ip": _clip(source.ip, 64),
        "user_agent": _clip(source.user_agent, MAX_USER_AGENT),
        "wording": source.wording,
    }


def _clip(value: str | None, length: int) -> str | None:
    """Bounded, and without NUL characters (PostgreSQL text cannot hold them)."""
    return value.replace("\x00", "")[:length] if value else None


def slugs_key(newsletters: Sequence[OpenList | Newsletter]) -> str:
    """The lists of one opt-in as the consent record stores them (sorted: comparable)."""
    return " ".join(sorted(newsletter.slug for newsletter in newsletters))
