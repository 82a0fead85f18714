"""A reader's membership data as privacy asks for it: exported, or the address erased.

Erasing keeps the subscription rows, with their address cleared and marked as erased, so the
member counter and `members reconcile` see exactly what they saw before (the member still
pays; only cancelling through "Manage membership" ends that). An event that names the address
again later does not bring it back (fulfilment checks the mark).

Both work in the caller's transaction and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, func, select, update

from database import utcnow
from extensions import db
from membership.goal import COUNTS_AS_MEMBER
from membership.models import Contribution, MemberEvent, MemberSubscription, Tier


@dataclass(frozen=True)
class MemberRecord:
    memberships: list[dict]
    contributions: list[dict]
    history: list[dict]
    customer_ids: list[str] = field(default_factory=list)
    subscription_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ForgottenMember:
    subscriptions: int  # rows kept, their address cleared
    contributions: int
    customer_ids: list[str]
    subscription_ids: list[str]


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _gift_from(address_key: str):
    """Contributions keep the address as Stripe gave it; memberships keep it lower-cased."""
    return func.lower(Contribution.email) == address_key


def counted_customers(address_key: str) -> list[str]:
    """The address's customers that count as members now: the erasure page offers each a
    "Manage membership" link, since erasing the address does not end a membership."""
    return list(
        db.session.scalars(
            select(MemberSubscription.customer_id)
            .where(MemberSubscription.email == address_key, COUNTS_AS_MEMBER)
            .distinct()
            .order_by(MemberSubscription.customer_id)
        )
    )


def erased_customer_condition(customer_id):
    """Whether the reader behind this customer erased their address and has not come back
    since (no membership of theirs has an address again): events and `members reconcile`
    must not learn it anew. A SQL condition on `customer_id` (a value or a bound parameter),
    so that the statement remembering a customer checks it as it writes."""
    erased = exists().where(
        MemberSubscription.customer_id == customer_id,
        MemberSubscription.email_erased_at.is_not(None),
    )
    known = exists().where(
        MemberSubscription.customer_id == customer_id, MemberSubscription.email.is_not(None)
    )
    return erased & ~known


def member_record(address_key: str) -> MemberRecord:
    """Every membership, contribution and membership change that names the address."""
    rows = db.session.execute(
        select(MemberSubscription, Tier.name)
        .outerjoin(Tier, MemberSubscription.tier_id == Tier.id)
        .where(MemberSubscription.email == address_key)
        .order_by(MemberSubscription.id)
    ).all()
    contributions = db.session.scalars(
        select(Contribution).where(_gift_from(address_key)).order_by(Contribution.id)
    ).all()
    subscription_ids = [row.stripe_subscription_id for row, _tier in rows]
    customer_ids = sorted(
        {row.customer_id for row, _tier in rows}
        | {row.customer_id for row in contributions if row.customer_id}
    )
    history = db.session.scalars(
        select(MemberEvent)
        .where(MemberEvent.stripe_subscription_id.in_(subscription_ids))
        .order_by(MemberEvent.occurred_at, MemberEvent.id)
    ).all()
    return MemberRecord(
        memberships=[
            {
                "stripe_subscription_id": row.stripe_subscription_id,
                "stripe_customer_id": row.customer_id,
                "tier": tier_name,
                "status": row.status,
                "started_at": _moment(row.started_at),
                "current_period_end": _moment(row.current_period_end),
                "cancel_at": _moment(row.cancel_at),
                "canceled_at": _moment(row.canceled_at),
                "ended_at": _moment(row.ended_at),
            }
            for row, tier_name in rows
        ],
        contributions=[
            {
                "stripe_checkout_session_id": row.stripe_session_id,
                "amount": row.amount,
                "currency": row.currency,
                "occurred_at": _moment(row.occurred_at),
            }
            for row in contributions
        ],
        history=[
            {
                "stripe_subscription_id": event.stripe_subscription_id,
                "change": event.event_type,
                "status": event.status,
                "occurred_at": _moment(event.occurred_at),
            }
            for event in history
        ],
        customer_ids=customer_ids,
        subscription_ids=subscription_ids,
    )


def forget_member(address_key: str) -> ForgottenMember:
    """Clear the address from memberships (kept, and still counted) and contributions."""
    record = member_record(address_key)
    now = utcnow()
    subscriptions = db.session.execute(
        update(MemberSubscription)
        .where(MemberSubscription.email == address_key)
        .values(email=None, email_erased_at=now, updated_at=now)
        .returning(MemberSubscription.id)
        .execution_options(synchronize_session=False)
    ).all()
    contributions = db.session.execute(
        update(Contribution)
        .where(_gift_from(address_key))
        .values(email=None)
        .returning(Contribution.id)
        .execution_options(synchronize_session=False)
    ).all()
    return ForgottenMember(
        len(subscriptions), len(contributions), record.customer_ids, record.subscription_ids
    )
