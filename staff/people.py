"""Finding subscribers and members by address, a page at a time (keyset on id)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from extensions import db
from membership.models import MemberSubscription, Tier
from newsletters.models import Consent, Newsletter, Subscriber, Subscription
from payments.reversals import PaymentLine, payment_history

PAGE_SIZE = 50
SUBSCRIBERS, MEMBERS = "subscribers", "members"


@dataclass
class Page:
    items: list[Any]
    next_after: int | None  # the id to continue after, None on the last page
    statuses: dict[int, dict[str, int]] = field(default_factory=dict)


def _needle(text: str) -> str:
    return text.strip().lower()


def search(kind: str, text: str = "", after: int | None = None) -> tuple[str, Page]:
    """(kind searched, page): members or, for anything else, subscribers."""
    if kind == MEMBERS:
        return MEMBERS, search_members(text, after)
    return SUBSCRIBERS, search_subscribers(text, after)


def search_subscribers(text: str = "", after: int | None = None, size: int = PAGE_SIZE) -> Page:
    query = select(Subscriber).order_by(Subscriber.id).limit(size + 1)
    if _needle(text):
        query = query.where(Subscriber.email_key.contains(_needle(text), autoescape=True))
    if after is not None:
        query = query.where(Subscriber.id > after)
    found = list(db.session.scalars(query))
    items = found[:size]
    page = Page(items, items[-1].id if len(found) > size else None)
    if items:
        rows = db.session.execute(
            select(Subscription.subscriber_id, Subscription.status, func.count(Subscription.id))
            .where(Subscription.subscriber_id.in_([item.id for item in items]))
            .group_by(Subscription.subscriber_id, Subscription.status)
        )
        for subscriber_id, status, count in rows:
            page.statuses.setdefault(subscriber_id, {})[status] = int(count)
    return page


def search_members(text: str = "", after: int | None = None, size: int = PAGE_SIZE) -> Page:
    query = (
        select(MemberSubscription, Tier.name.label("tier_name"))
        .outerjoin(Tier, MemberSubscription.tier_id == Tier.id)
        .order_by(MemberSubscription.id)
        .limit(size + 1)
    )
    if _needle(text):
        query = query.where(
            func.lower(MemberSubscription.email).contains(_needle(text), autoescape=True)
        )
    if after is not None:
        query = query.where(MemberSubscription.id > after)
    found = db.session.execute(query).all()
    items = found[:size]
    return Page(items, items[-1][0].id if len(found) > size else None)


@dataclass
class SubscriberRecord:
    subscriber: Subscriber
    subscriptions: list[tuple[Subscription, Newsletter]]
    consents: list[Consent]
    memberships: list[tuple[MemberSubscription, str | None]]
    payments: list[PaymentLine] = field(default_factory=list)


def subscriber_record(subscriber_id: int) -> SubscriberRecord | None:
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return None
    subscriptions = db.session.execute(
        select(Subscription, Newsletter)
        .join(Newsletter, Subscription.newsletter_id == Newsletter.id)
        .where(Subscription.subscriber_id == subscriber.id)
        .order_by(Newsletter.name)
    ).all()
    consents = db.session.scalars(
        select(Consent)
        .where(Consent.subscriber_id == subscriber.id)
        .order_by(Consent.signed_up_at.desc(), Consent.id.desc())
    ).all()
    memberships = _memberships(func.lower(MemberSubscription.email) == subscriber.email_key)
    return SubscriberRecord(
        subscriber,
        [tuple(row) for row in subscriptions],
        list(consents),
        memberships,
        payment_history(sorted({member.customer_id for member, _ in memberships})),
    )


def _memberships(condition) -> list[tuple[MemberSubscription, str | None]]:
    rows = db.session.execute(
        select(MemberSubscription, Tier.name)
        .outerjoin(Tier, MemberSubscription.tier_id == Tier.id)
        .where(condition)
        .order_by(MemberSubscription.id)
    ).all()
    return [tuple(row) for row in rows]


@dataclass
class CustomerRecord:
    """One Stripe customer's memberships and payments (a member who reads no newsletter has no
    subscriber record)."""

    customer_id: str
    memberships: list[tuple[MemberSubscription, str | None]]
    payments: list[PaymentLine]


def customer_record(customer_id: str) -> CustomerRecord | None:
    if not customer_id or len(customer_id) > 255 or "\x00" in customer_id:
        return None
    memberships = _memberships(MemberSubscription.customer_id == customer_id)
    if not memberships:
        return None
    return CustomerRecord(customer_id, memberships, payment_history([customer_id]))
