"""A reader's newsletter data as privacy asks for it: exported, erased, or purged unconfirmed.

The privacy package calls these (it owns no newsletter table); each one works in the caller's
transaction and never commits, except purge_never_confirmed(), which deletes in batches and
commits each one (it may meet a million imported rows that were never confirmed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, exists, func, or_, select

from extensions import db
from mailer.services import StoredLanguage
from newsletters.models import CONFIRMED, Consent, Newsletter, Subscriber, Subscription
from signing import ReaderGone

PURGE_BATCH = 1000


@dataclass(frozen=True)
class Reader:
    id: int
    email: str  # as stored (email-validator's normalised form)
    email_key: str  # lower-cased: how other tables find the same address
    language: str | None = None  # their mail language, as kept with the subscriber


@dataclass(frozen=True)
class ForgottenReader:
    subscriptions: int
    consents: int


@dataclass(frozen=True)
class PendingPurge:
    subscribers: int = 0
    consents: int = 0


def reader(subscriber_id: int, *, lock: bool = False) -> Reader:
    """The reader a link names; ReaderGone when their data is gone. `lock` holds the row until
    the commit: of two erasures at once (a double click) the second finds the reader gone."""
    query = select(Subscriber).where(Subscriber.id == subscriber_id)
    subscriber = db.session.scalar(query.with_for_update() if lock else query)
    if subscriber is None:
        raise ReaderGone()
    return Reader(subscriber.id, subscriber.email, subscriber.email_key, subscriber.language)


def language_of(address_key: str) -> StoredLanguage:
    """The mail language kept for a subscriber with this address (email_key), if any, for
    queue_mail(language=…): read by the outbox INSERT itself, with no round trip of its own."""
    return StoredLanguage(_LANGUAGE_OF, {"language_of_address": address_key})


_subscribers = Subscriber.__table__
_LANGUAGE_OF = (
    select(_subscribers.c.language)
    .where(_subscribers.c.email_key == bindparam("language_of_address"))
    .scalar_subquery()
)


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def reader_export(subscriber_id: int) -> dict:
    """The subscriber row, every subscription and every consent record (with its IP)."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise ReaderGone()
    subscriptions = db.session.execute(
        select(Subscription, Newsletter)
        .join(Newsletter, Subscription.newsletter_id == Newsletter.id)
        .where(Subscription.subscriber_id == subscriber_id)
        .order_by(Subscription.id)
    )
    consents = db.session.scalars(
        select(Consent).where(Consent.subscriber_id == subscriber_id).order_by(Consent.id)
    )
    return {
        "subscriber": {
            "email": subscriber.email,
            "created_at": _moment(subscriber.created_at),
            "language": subscriber.language,  # of their mail; null: never shown
        },
        "subscriptions": [
            {
                "newsletter": newsletter.slug,
                "newsletter_name": newsletter.name,
                "status": subscription.status,
                "created_at": _moment(subscription.created_at),
                "confirmed_at": _moment(subscription.confirmed_at),
                "unsubscribed_at": _moment(subscription.unsubscribed_at),
            }
            for subscription, newsletter in subscriptions
        ],
        "consent_records": [
            {
                "newsletters": consent.newsletter_slugs.split(),
                "source": consent.source,
                "source_url": consent.source_url,
                "ip": consent.ip,
                "user_agent": consent.user_agent,
                "wording": consent.wording,
                "signed_up_at": _moment(consent.signed_up_at),
                "confirmed_at": _moment(consent.confirmed_at),
            }
            for consent in consents
        ],
    }


def forget_reader(subscriber_id: int) -> ForgottenReader:
    """Delete the subscriber, their subscriptions and consent records; their links then 404."""
    deleted = [
        len(db.session.execute(statement.execution_options(synchronize_session=False)).all())
        for statement in (
            delete(Consent).where(Consent.subscriber_id == subscriber_id).returning(Consent.id),
            delete(Subscription)
            .where(Subscription.subscriber_id == subscriber_id)
            .returning(Subscription.id),
            delete(Subscriber).where(Subscriber.id == subscriber_id).returning(Subscriber.id),
        )
    ]
    db.session.expire_all()  # rows loaded earlier in this session are gone
    return ForgottenReader(subscriptions=deleted[1], consents=deleted[0])


def _never_confirmed(before: datetime):
    """Subscribers known since before `before`, never confirmed on any list, with no opt-in or
    confirmation mail claimed since (a reader who asked again recently keeps a working link)."""
    confirmed_once = exists().where(
        Subscription.subscriber_id == Subscriber.id,
        or_(Subscription.status == CONFIRMED, Subscription.confirmed_at.is_not(None)),
    )
    asked_since = exists().where(
        Consent.subscriber_id == Subscriber.id,
        or_(Consent.signed_up_at >= before, Consent.confirmed_at.is_not(None)),
    )
    return (
        Subscriber.created_at < before,
        or_(Subscriber.confirmations_day.is_(None), Subscriber.confirmations_day < before.date()),
        ~confirmed_once,
        ~asked_since,
    )


def purge_never_confirmed(before: datetime, batch_size: int = PURGE_BATCH) -> PendingPurge:
    """Delete never-confirmed subscribers known since before `before`, with their consent
    records and pending subscriptions; commits each batch. Safe to run at any time."""
    subscribers = consents = 0
    after = 0
    conditions = _never_confirmed(before)
    while True:
        # Locked while deleted: a signup of the same address meanwhile waits, then starts anew.
        ids = list(
            db.session.scalars(
                select(Subscriber.id)
                .where(Subscriber.id > after, *conditions)
                .order_by(Subscriber.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            db.session.commit()
            return PendingPurge(subscribers, consents)
        after = ids[-1]
        consents += db.session.scalar(
            select(func.count()).select_from(Consent).where(Consent.subscriber_id.in_(ids))
        )
        for statement in (
            delete(Consent).where(Consent.subscriber_id.in_(ids)),
            delete(Subscription).where(Subscription.subscriber_id.in_(ids)),
            delete(Subscriber).where(Subscriber.id.in_(ids)),
        ):
            db.session.execute(statement.execution_options(synchronize_session=False))
        db.session.commit()
        subscribers += len(ids)
