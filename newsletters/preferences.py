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
from newsletters.consent import ConsentSource, record_consent, slugs_key
from newsletters.links import UnsubscribeClaim
from newsletters.models import (
    CONFIRMED,
    PENDING,
    SOURCE_PAGE,
    UNSUBSCRIBED,
    Newsletter,
    Subscriber,
    Subscription,
)
from newsletters.services import (
    claim_confirmation,
    confirm_pending,
    lists_named,
    queue_confirmation,
    upsert_subscriptions,
)
from signing import ReaderGone

PREFERENCES_WORDING = "Chose lists on the newsletter preferences page"


@dataclass(frozen=True)
class ReaderLists:
    """What the preferences page shows: the reader, and every open list with their status."""

    subscriber: Subscriber
    lists: list[tuple[Newsletter, str | None]]  # None: never joined


@dataclass
class PreferencesChange:
    reader: ReaderLists | None = None  # the reader's lists as they stand after the change
    joined: list[Newsletter] = field(default_factory=list)
    awaiting_confirmation: list[Newsletter] = field(default_factory=list)
    left: list[Newsletter] = field(default_factory=list)
    confirmation_queued: bool = False


@dataclass(frozen=True)
class Departure:
    """What the page after an unsubscribe says."""

    every_list: bool
    lists: list[Newsletter]  # the lists the link names
    subscriber_id: int


def reader_lists(subscriber_id: int) -> ReaderLists:
    """The reader a preferences link names; ReaderGone when their data is gone."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise ReaderGone()
    return ReaderLists(subscriber, lists_with_status(subscriber_id))


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
    subscriber_id: int,
    wanted_slugs: list[str],
    ip: str | None = None,
    user_agent: str | None = None,
) -> PreferencesChange:
    """Make the reader's open lists match the ticked ones."""
    before = reader_lists(subscriber_id)
    wanted = set(wanted_slugs)
    trusted = any(status == CONFIRMED for _, status in before.lists)
    to_join = [
        n for n, status in before.lists if n.slug in wanted and status in (None, UNSUBSCRIBED)
    ]
    change = PreferencesChange(
        left=[
            n
            for n, status in before.lists
            if n.slug not in wanted and status in (PENDING, CONFIRMED)
        ]
    )
    if change.left:
        unsubscribe(subscriber_id, tuple(newsletter.slug for newsletter in change.left))
    if to_join:
        consent = ConsentSource(SOURCE_PAGE, PREFERENCES_WORDING, "/preferences", ip, user_agent)
        _join(before.subscriber, to_join, consent, trusted, change)
    change.reader = reader_lists(subscriber_id)
    return change


def _join(
    subscriber: Subscriber,
    to_join: list[Newsletter],
    consent: ConsentSource,
    trusted: bool,
    change: PreferencesChange,
) -> None:
    """A reader with a confirmed list joins at once; any other confirms by mail first."""
    upsert_subscriptions(subscriber.id, to_join)  # new or left lists become pending
    if trusted:
        record_consent(subscriber.id, to_join, consent, confirmed_at=utcnow())
        confirm_pending(subscriber.id, [newsletter.id for newsletter in to_join])
        change.joined = to_join
        return
    change.awaiting_confirmation = to_join
    if claim_confirmation(subscriber.id, slugs_key(to_join)):
        consent_id = record_consent(subscriber.id, to_join, consent)
        queue_confirmation(subscriber.email, subscriber.id, to_join, consent_id)
        change.confirmation_queued = True


@dataclass(frozen=True)
class Leaving:
    """What the unsubscribe page offers to leave."""

    every_list: bool
    lists: list[Newsletter]


def leaving(claim: UnsubscribeClaim) -> Leaving:
    """The lists an unsubscribe link names; ReaderGone when the reader's data is gone."""
    if db.session.get(Subscriber, claim.subscriber_id) is None:
        raise ReaderGone()
    return Leaving(claim.slugs is None, lists_named(claim.slugs))


def leave(claim: UnsubscribeClaim, every_list: bool) -> Departure:
    """Leave the lists of an unsubscribe link, or every list; safe to repeat.

    ReaderGone when the reader's data is gone (erased): there is nothing left to unsubscribe.
    """
    if db.session.get(Subscriber, claim.subscriber_id) is None:
        raise ReaderGone()
    unsubscribe(claim.subscriber_id, None if every_list else claim.slugs)
    return Departure(
        every_list=every_list or claim.slugs is None,
        lists=lists_named(claim.slugs),
        subscriber_id=claim.subscriber_id,
    )


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
