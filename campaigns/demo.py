"""The sent campaign `flask demo` adds, so a fresh `make run` shows the archive."""

from __future__ import annotations

from sqlalchemy import select

from campaigns.models import SENT, Campaign
from database import utcnow
from extensions import db
from newsletters.models import Newsletter

DEMO_LIST = "explaining-ukraine"
DEMO_SUBJECT = "Explaining Ukraine: the night shift that keeps Kharkiv's lights on"
DEMO_BODY = """\
Good morning. This week we spent five nights with the repair crews who rebuild Kharkiv's power
lines between attacks, and we came back with more questions than answers.

## What we saw

- Forty teams rotate through shifts that can stretch to sixteen hours.
- Spare transformers take months to build: engineers salvage what they can.
- Neighbourhood chats announce repairs before the power company's own website does.

> "We do not wait for morning anymore," a lineman told us. "Morning is when people need heat."

[Read the whole story](https://example.org/stories/night-shift) on our site, and tell us what
you would like us to explain next by replying to this letter.
"""


def load_demo_campaign() -> None:
    """One campaign of the demo list, recorded as sent to nobody (no mail goes); safe to run
    again. Needs the demo lists."""
    newsletter_id = db.session.scalar(select(Newsletter.id).where(Newsletter.slug == DEMO_LIST))
    if newsletter_id is None:
        return
    exists = select(Campaign.id).where(
        Campaign.newsletter_id == newsletter_id, Campaign.subject == DEMO_SUBJECT
    )
    if db.session.scalar(exists) is not None:
        return
    now = utcnow()
    db.session.add(
        Campaign(
            newsletter_id=newsletter_id,
            subject=DEMO_SUBJECT,
            body_markdown=DEMO_BODY,
            status=SENT,
            started_at=now,
            finished_at=now,
            recipients=0,
            created_by="demo",
            created_at=now,
            updated_at=now,
        )
    )
