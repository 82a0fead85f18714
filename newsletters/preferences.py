"""A reader's own lists: join and leave through the preferences link, unsubscribe in one click.

Joining a list from the preferences page needs no fresh confirmation when the reader already
receives at least one confirmed list: the link came in a mail to that confirmed address. A
reader with no confirmed list (only pending, or having left everything) joins as pending and
gets a confirmation mail, as a signup would; leaving everything must not be undone by anyone
holding an old mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update

from database import utcnow
from extensions import db
from newsletters.models import (
    CONFIRMED,
    PENDING,
    SOURCE_PAGE,
    UNSUBSCRIBED,
    Consent,
    Newsletter,
    Subscriber,
    Subscription,
)
from newsletters.services import (
    claim_confirmation,
    queue_confirmation,
    slugs_key,
    upsert_subscriptions,
)

PREFERENCES_WORDING = "Chose lists on the newsletter preferences page"


@dataclass
class PreferencesChange:
    joined: list[Newsletter] = field(default_factory=list)
    awaiting_confirmation: list[Newsletter] = field(default_factory=list)
    left: list[Newsletter] = field(default_factory=list)
    confirmation_queued: bool = False


def lists_with_status(subscriber_id: int) -> list[tuple[Newsletter, str | None]]:
    """Every open list, with this reader's status on it (None: never joined)."""
    query = (
        select(Newsletter, Subscription.status)
        .outerjoin(
            Subscription,
            (Subscription.newsletter_id == Newsletter.id)
            & (Subscription.subscriber_id == subscriber_id),
        )
        .where(Newsletter.archived.is_(False))
        .order_by(Newsletter.id)
    )
    return [(newsletter, status) for newsletter, status in db.session.execute(query)]


def update_preferences(
    subscriber: Subscriber,
    wanted_slugs: list[str],
    ip: str | None = None,
    user_agent: str | None = None,
) -> PreferencesChange:
    """Make the reader's open lists match the ticked ones."""
    change = PreferencesChange()
    current = lists_with_status(subscriber.id)
    wanted = set(wanted_slugs)
    trusted = any(status == CONFIRMED for _, status in current)
    to_join = [n for n, status in current if n.slug in wanted and status in (None, UNSUBSCRIBED)]
    change.left = [
        n for n, status in current if n.slug not in wanted and status in (PENDING, CONFIRMED)
    ]
    now = utcnow()
    if change.left:
        db.session.execute(
            update(Subscription)
            .where(
                Subscription.subscriber_id == subscriber.id,
                Subscription.newsletter_id.in_([n.id for n in change.left]),
            )
            .values(status=UNSUBSCRIBED, unsubscribed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    if not to_join:
        return change
    upsert_subscriptions(subscriber.id, to_join)  # new or left lists become pending
    consent = Consent(
        subscriber_id=subscriber.id,
        newsletter_slugs=slugs_key(to_join),
        source=SOURCE_PAGE,
        source_url="/preferences",
        ip=ip,
        user_agent=(user_agent or None) and user_agent[:500],
        wording=f"{PREFERENCES_WORDING} ({'; '.join(n.name for n in to_join)})",
        signed_up_at=now,
        confirmed_at=now if trusted else None,
    )
    if trusted:
        db.session.add(consent)
        db.session.execute(
            update(Subscription)
            .where(
                Subscription.subscriber_id == subscriber.id,
                Subscription.newsletter_id.in_([n.id for n in to_join]),
            )
            .values(status=CONFIRMED, confirmed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        change.joined = to_join
        return change
    change.awaiting_confirmation = to_join
    if claim_confirmation(subscriber.id, slugs_key(to_join)):
        db.session.add(consent)
        db.session.flush()
        queue_confirmation(subscriber.email, subscriber.id, to_join, consent.id)
        change.confirmation_queued = True
    return change


def unsubscribe(subscriber_id: int, slugs: tuple[str, ...] | None) -> list[Newsletter]:
    """Leave the named lists (None: every list); the lists actually left. Safe to repeat."""
    now = utcnow()
    statement = update(Subscription).where(
        Subscription.subscriber_id == subscriber_id, Subscription.status != UNSUBSCRIBED
    )
    if slugs is not None:
        named = select(Newsletter.id).where(Newsletter.slug.in_(slugs))
        statement = statement.where(Subscription.newsletter_id.in_(named.scalar_subquery()))
    left_ids = set(
        db.session.execute(
            statement.values(status=UNSUBSCRIBED, unsubscribed_at=now, updated_at=now)
            .returning(Subscription.newsletter_id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    if not left_ids:
        return []
    found = db.session.scalars(
        select(Newsletter).where(Newsletter.id.in_(left_ids)).order_by(Newsletter.id)
    )
    return list(found)


def lists_named(slugs: tuple[str, ...] | None) -> list[Newsletter]:
    query = select(Newsletter).order_by(Newsletter.id)
    if slugs is not None:
        query = query.where(Newsletter.slug.in_(slugs))
    return list(db.session.scalars(query))
