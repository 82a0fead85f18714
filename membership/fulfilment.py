"""Fulfilment: the one idempotent way a subscription's state reaches our tables.

The webhook handlers, the welcome page, the simulated checkout and `members reconcile` all call
apply_subscription_state(). It runs in the caller's transaction and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import exists, select, text

from addresses import email_key
from database import is_postgresql, upsert
from extensions import db
from mailer.services import queue_mail
from membership.goal import COUNTS_AS_MEMBER, adjust_member_counter
from membership.models import Contribution, MemberEvent, MemberSubscription, Tier
from newsletters import reader_data as newsletter_data
from signing import external_url


@dataclass(frozen=True)
class SubscriptionState:
    """What one event (or Stripe itself) says about a subscription as of `as_of` (Unix seconds)."""

    subscription_id: str
    customer_id: str
    tier: Tier
    status: str
    as_of: int
    source: str  # event type, "welcome" or "reconcile"
    email: str | None = None
    event_id: str | None = None
    period_end: int | None = None
    started_at: int | None = None
    cancel_at: int | None = None
    canceled_at: int | None = None
    ended_at: int | None = None
    final: bool = False  # customer.subscription.deleted: nothing after it changes the row
    # A whole subscription object (an event's or Stripe's): its empty dates clear ours.
    whole_subscription: bool = False


@dataclass(frozen=True)
class Outcome:
    applied: bool
    previous_status: str | None
    status: str
    member_delta: int

    @property
    def changed(self) -> bool:
        return self.applied and (self.previous_status != self.status or self.member_delta != 0)


def timestamp(value: int | float | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(int(value), UTC)


def lock_customer(customer_id: str) -> None:
    """Serialise changes per customer, so two subscriptions cannot both add the same member,
    and so what we read below (the row, was-a-member) cannot change before we write.

    Whoever writes other rows of the customer's in the same transaction takes this first
    (PostgreSQL lets a transaction take it again): two events of one customer that took their
    locks in different orders would wait on each other.
    """
    if is_postgresql():
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"member:{customer_id}"},
        )
    else:
        # SQLite reads outside a transaction until the first write: take its one write lock now.
        db.session.execute(text("UPDATE member_subscriptions SET id = id WHERE 1 = 0"))


def customer_is_member(customer_id: str) -> bool:
    query = select(exists().where(MemberSubscription.customer_id == customer_id, COUNTS_AS_MEMBER))
    return bool(db.session.execute(query).scalar())


def _was_ever_member(customer_id: str) -> bool:
    own_subscriptions = select(MemberSubscription.stripe_subscription_id).where(
        MemberSubscription.customer_id == customer_id
    )
    query = select(
        exists().where(
            MemberEvent.stripe_subscription_id.in_(own_subscriptions),
            MemberEvent.member_delta > 0,
        )
    )
    return bool(db.session.execute(query).scalar())


def apply_subscription_state(state: SubscriptionState) -> Outcome:
    """Record `state` unless something newer is already known; history and mail follow the count.

    Newest `as_of` wins; on a tie the later call wins; a final (deleted) row never changes again,
    and a deletion ends the subscription whenever it arrives, even after a newer event.
    """
    lock_customer(state.customer_id)
    row = db.session.execute(
        select(MemberSubscription).where(
            MemberSubscription.stripe_subscription_id == state.subscription_id
        )
    ).scalar_one_or_none()
    older = row is not None and state.as_of < row.status_event_created and not state.final
    if row is not None and (row.deleted or older):
        if row.email is None and state.email and row.email_erased_at is None:
            _learn_email(row, state)  # an email is news even when the status is not
        return Outcome(False, row.status, row.status, 0)
    email_before = row.email if row is not None else None

    was_member = customer_is_member(state.customer_id)
    previous_status = row.status if row is not None else None
    if row is None:
        row = MemberSubscription(
            stripe_subscription_id=state.subscription_id, customer_id=state.customer_id
        )
    _copy_state(row, state)  # before add(): a lazy load in between must not flush a bare row
    db.session.add(row)
    db.session.flush()
    is_member = customer_is_member(state.customer_id)
    delta = int(is_member) - int(was_member)
    adjust_member_counter(delta)

    # Welcome a customer the first time they count, or once their email arrives if it came late.
    welcome = delta > 0 and not _was_ever_member(state.customer_id)
    if previous_status != state.status or delta:
        db.session.add(
            MemberEvent(
                stripe_subscription_id=state.subscription_id,
                customer_id=state.customer_id,
                tier_id=state.tier.id,
                stripe_event_id=state.event_id,
                event_type=state.source,
                status=state.status,
                member_delta=delta,
                occurred_at=timestamp(state.as_of),
            )
        )
    if not delta and email_before is None and row.email and is_member:
        welcome = _welcome_owed(row)
    if welcome and row.email:
        _queue_member_welcome(row.email, state.tier)
    return Outcome(True, previous_status, state.status, delta)


def _learn_email(row: MemberSubscription, state: SubscriptionState) -> None:
    row.email = email_key(state.email)
    if customer_is_member(row.customer_id) and _welcome_owed(row):
        _queue_member_welcome(row.email, row.tier or state.tier)


def _welcome_owed(row: MemberSubscription) -> bool:
    """The customer first became a member through this subscription, before we knew its email
    (so no welcome could be sent then)."""
    own_subscriptions = select(MemberSubscription.stripe_subscription_id).where(
        MemberSubscription.customer_id == row.customer_id
    )
    first_join = db.session.execute(
        select(MemberEvent.stripe_subscription_id)
        .where(MemberEvent.stripe_subscription_id.in_(own_subscriptions))
        .where(MemberEvent.member_delta > 0)
        .order_by(MemberEvent.occurred_at, MemberEvent.id)
        .limit(1)
    ).scalar_one_or_none()
    return first_join == row.stripe_subscription_id


def _copy_state(row: MemberSubscription, state: SubscriptionState) -> None:
    row.customer_id = state.customer_id
    row.tier_id = state.tier.id
    row.status = state.status
    row.status_event_created = state.as_of
    row.deleted = state.final
    if state.email and row.email_erased_at is None:  # an erased address stays erased
        row.email = email_key(state.email)  # looked up by "Manage membership"
    # Fields an event does not carry (checkout sessions know no period) keep what we had.
    for name in ("period_end", "started_at", "cancel_at", "canceled_at", "ended_at"):
        value = getattr(state, name)
        column = "current_period_end" if name == "period_end" else name
        if value is not None or state.whole_subscription:
            setattr(row, column, timestamp(value))


def _queue_member_welcome(email: str, tier: Tier) -> None:
    # Stripe's webhook shows no reader's language: a subscriber's kept one is the best we know.
    queue_mail(
        language=newsletter_data.language_of(email_key(email)),
        to=email,
        template="member_welcome",
        context={
            "tier_name": tier.name,
            "manage_url": external_url("/membership/manage"),
            "membership_url": external_url("/membership"),
        },
    )


def record_contribution(
    *,
    session_id: str,
    customer_id: str | None,
    email: str | None,
    amount: int,
    currency: str,
    occurred_at: int,
) -> bool:
    """A one-time gift, once per Checkout Session (the webhook and the thanks page both call it)."""
    statement = (
        upsert(Contribution.__table__)
        .values(
            stripe_session_id=session_id,
            customer_id=customer_id,
            email=email,
            amount=amount,
            currency=(currency or "usd").lower(),
            occurred_at=timestamp(occurred_at),
            recorded_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["stripe_session_id"])
        .returning(Contribution.__table__.c.id)
    )
    return db.session.execute(statement).first() is not None
