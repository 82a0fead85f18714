"""Who a campaign reaches: the list's confirmed readers (members only, for a members-only
list), fixed when sending starts; and, when each message goes, whether its reader still is.

Suppressed addresses are left out by the mailer, in the same INSERT … SELECT that queues the
rows (mailer.campaign_outbox.queue_for_recipients) and again when each message goes;
audience_size() leaves them out the same way, so the confirmation step's figure is the one
sending reaches.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, func, select, tuple_

from extensions import db
from mailer.suppression_models import Suppression
from membership.goal import member_addresses
from newsletters.models import CONFIRMED, Newsletter, Subscriber, Subscription


def audience(newsletter: Newsletter) -> Select:
    """(subscriber_id, to_addr, language, address_key) of every reader the list's campaigns
    reach now."""
    statement = (
        select(
            Subscriber.id.label("subscriber_id"),
            Subscriber.email.label("to_addr"),
            Subscriber.language.label("language"),  # NULL: the default language
            Subscriber.email_key.label("address_key"),  # how suppressions are matched
        )
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.newsletter_id == newsletter.id, Subscription.status == CONFIRMED)
    )
    if newsletter.members_only:
        statement = statement.where(Subscriber.email_key.in_(member_addresses()))
    return statement


def audience_size(newsletter: Newsletter) -> int:
    """How many readers sending would reach if it started now: the audience less suppressed
    addresses, matched as the mailer matches them when it queues (address_key)."""
    readers = audience(newsletter).subquery()
    suppressed = select(Suppression.id).where(Suppression.address_key == readers.c.address_key)
    counted = select(func.count()).select_from(readers).where(~suppressed.exists())
    return db.session.execute(counted).scalar_one()


def still_subscribed(pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Of (subscriber_id, newsletter_id) pairs, those whose subscription is still confirmed:
    one query for a whole batch of messages."""
    wanted = list(set(pairs))
    if not wanted:
        return set()
    rows = db.session.execute(
        select(Subscription.subscriber_id, Subscription.newsletter_id).where(
            tuple_(Subscription.subscriber_id, Subscription.newsletter_id).in_(wanted),
            Subscription.status == CONFIRMED,
        )
    )
    return {(row.subscriber_id, row.newsletter_id) for row in rows}


def confirmed_since(subscriber_ids: Iterable[int], newsletter_id: int) -> dict[int, datetime]:
    """When each reader confirmed their subscription to the list (for the footer)."""
    rows = db.session.execute(
        select(Subscription.subscriber_id, Subscription.confirmed_at).where(
            Subscription.subscriber_id.in_(list(set(subscriber_ids))),
            Subscription.newsletter_id == newsletter_id,
            Subscription.confirmed_at.is_not(None),
        )
    )
    return {row.subscriber_id: row.confirmed_at for row in rows}


def unsubscribed_since(newsletter_id: int, since: datetime, recipients: Select) -> int:
    """Readers among `recipients` (a SELECT of subscriber ids) who left the list after `since`."""
    counted = select(func.count()).where(
        Subscription.newsletter_id == newsletter_id,
        Subscription.unsubscribed_at >= since,
        Subscription.subscriber_id.in_(recipients),
    )
    return db.session.execute(counted).scalar_one()
