"""The sent campaigns `flask demo` adds, so a fresh `make run` shows the archive: one in English,
one of the Ukrainian list in Ukrainian."""

from __future__ import annotations

from sqlalchemy import select

from campaigns.models import SENT, Campaign
from database import utcnow
from extensions import db
from newsletters.models import Newsletter

DEMO_LIST = "explaining-ukraine"
DEMO_SUBJECT = "Explaining Ukraine: the night shift that keeps Kharkiv's lights on"
UKRAINIAN_DEMO_LIST = "holovne-za-den"
UKRAINIAN_DEMO_SUBJECT = "Головне за день: нічна зміна, що тримає світло в Харкові"
UKRAINIAN_DEMO_BODY = """\
Добрий вечір. Цього тижня ми провели п’ять ночей з ремонтними бригадами, які між атаками
відновлюють лінії електропередач у Харкові.

## Що ми побачили

- Сорок бригад змінюють одна одну; зміна буває й шістнадцять годин.
- Запасні трансформатори виготовляють місяцями, тож інженери рятують усе, що можна.
- Сусідські чати повідомляють про ремонти раніше, ніж сайт енергокомпанії.

> «Ми більше не чекаємо ранку, — сказав нам електромонтер. — Зранку людям потрібне тепло».

[Читайте всю історію](https://example.org/stories/night-shift) на нашому сайті й напишіть нам у
відповідь, що пояснити наступного разу.
"""
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
    """One campaign of each demo list above, recorded as sent to nobody (no mail goes); safe to
    run again. Needs the demo lists."""
    _load_sent(DEMO_LIST, DEMO_SUBJECT, DEMO_BODY)
    _load_sent(UKRAINIAN_DEMO_LIST, UKRAINIAN_DEMO_SUBJECT, UKRAINIAN_DEMO_BODY)


def _load_sent(slug: str, subject: str, body: str) -> None:
    newsletter_id = db.session.scalar(select(Newsletter.id).where(Newsletter.slug == slug))
    if newsletter_id is None:
        return
    exists = select(Campaign.id).where(
        Campaign.newsletter_id == newsletter_id, Campaign.subject == subject
    )
    if db.session.scalar(exists) is not None:
        return
    now = utcnow()
    db.session.add(
        Campaign(
            newsletter_id=newsletter_id,
            subject=subject,
            body_markdown=body,
            status=SENT,
            started_at=now,
            finished_at=now,
            recipients=0,
            created_by="demo",
            created_at=now,
            updated_at=now,
        )
    )
