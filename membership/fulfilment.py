"""Fulfilment: the one idempotent way a subscription's state reaches our tables.

The webhook handlers, the welcome page, the simulated checkout and `members reconcile` all call
apply_subscription_state(). It runs in the caller's transaction and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import (
    String,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.dml import Insert

from addresses import email_key
from database import held_in_transaction, is_postgresql, upsert, utcnow, written_together
from extensions import db
from membership.goal import (
    COUNTS_AS_MEMBER,
    adjust_member_counter,
    counter_lock_column,
    counter_locked,
)
from membership.models import Contribution, MemberEvent, MemberSubscription, Tier
from membership.welcome import member_welcome, queue_member_welcome, welcome_owed


@dataclass(frozen=True)
class SubscriptionState:
    """What one event (or Stripe itself) says about a subscription as of `as_of` (Unix seconds)."""

    subscription_id: str
    customer_id: str
    tier: Tier  # or its id, slug and name as a row (membership.services.tier_values_by_slug)
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
    locks in different orders would wait on each other. Taken once per transaction: a checkout
    locks before it remembers the customer, then fulfils under the lock it already holds.
    With it, in the same statement, the counter's writers' lock (goal.counter_lock_column):
    fulfilment under this lock may change the count, and needs no round trip for it then.
    """
    if customer_id in held_in_transaction(_LOCKS_HELD):
        return
    if is_postgresql():
        db.session.execute(_LOCK_CUSTOMER, customer_lock_parameters(customer_id))
    else:
        # SQLite reads outside a transaction until the first write: take its one write lock now.
        db.session.execute(_TAKE_SQLITE_WRITE_LOCK)
    customer_locked(customer_id)  # after the statement: it may have begun the transaction


def customer_lock_columns(dialect: str) -> list:
    """lock_customer() as columns of the RETURNING of a statement that writes first (the
    webhook's claim of an event), so the locks cost no round trip of their own. They are taken
    only for a row the statement returns, with the parameters customer_lock_parameters() gives;
    call customer_locked() once that row came back. None on SQLite (an empty list), where the
    statement's own write took the one write lock."""
    if dialect != "postgresql":
        return []
    key = bindparam("customer_lock_key", type_=String())
    customer = func.pg_advisory_xact_lock(func.hashtextextended(key, 0)).label("customer_locked")
    return [customer, counter_lock_column()]


def customer_lock_parameters(customer_id: str) -> dict:
    return {"customer_lock_key": f"member:{customer_id}"}


def customer_locked(customer_id: str) -> None:
    """The caller's statement took the customer's locks (customer_lock_columns)."""
    held_in_transaction(_LOCKS_HELD).add(customer_id)
    if is_postgresql():
        counter_locked()


_LOCK_CUSTOMER = select(*customer_lock_columns("postgresql"))
_TAKE_SQLITE_WRITE_LOCK = text("UPDATE member_subscriptions SET id = id WHERE 1 = 0")
_LOCKS_HELD = "fulfilment_customer_locks"


def customer_is_member(customer_id: str) -> bool:
    query = select(exists().where(MemberSubscription.customer_id == customer_id, COUNTS_AS_MEMBER))
    return bool(db.session.execute(query).scalar())


# What apply_subscription_state() needs to know before it writes, read in one statement under
# the customer's lock: the subscription's row (if any), whether the customer counts now,
# whether another of their subscriptions counts (then they still count whatever this one
# becomes), and whether they ever joined before (a welcome is sent the first time only).
_customer = bindparam("customer_id", type_=String())
_subscription = bindparam("subscription_id", type_=String())
# A Core alias of the table, not an ORM alias: the row is read as plain values, with no ORM
# compile state or row loading (an ORM SELECT cost about twice a Core one's CPU here).
_row = MemberSubscription.__table__.alias("known_row")
_READ_BEFORE_WRITE = (
    select(
        _row.c.id,
        _row.c.customer_id,
        _row.c.email,
        _row.c.email_erased_at,
        _row.c.tier_id,
        _row.c.status,
        _row.c.status_event_created,
        _row.c.deleted,
        exists()
        .where(MemberSubscription.customer_id == _customer, COUNTS_AS_MEMBER)
        .label("was_member"),
        exists()
        .where(
            MemberSubscription.customer_id == _customer,
            MemberSubscription.stripe_subscription_id != _subscription,
            COUNTS_AS_MEMBER,
        )
        .label("another_counts"),
        # Two EXISTS, each found by an index: one with an OR inside scanned every history row.
        or_(
            exists().where(
                MemberEvent.stripe_subscription_id == MemberSubscription.stripe_subscription_id,
                MemberSubscription.customer_id == _customer,
                MemberEvent.member_delta > 0,
            ),
            exists().where(
                MemberEvent.stripe_subscription_id == _subscription, MemberEvent.member_delta > 0
            ),
        ).label("was_ever_member"),
    )
    .select_from(select(literal_column("1").label("one")).subquery("one"))
    .outerjoin(_row, _row.c.stripe_subscription_id == _subscription)
)
_subscriptions = MemberSubscription.__table__
# The written row counts or not by the one definition (COUNTS_AS_MEMBER), asked of the row
# as written: no second SELECT after the write.
_INSERT_ROW = insert(_subscriptions).returning(COUNTS_AS_MEMBER.label("counts"))
_UPDATE_ROW = (
    update(_subscriptions)
    .where(_subscriptions.c.id == bindparam("row_id"))
    .returning(COUNTS_AS_MEMBER.label("counts"))
)
_INSERT_HISTORY = insert(MemberEvent.__table__)


def apply_subscription_state(
    state: SubscriptionState,
    along_with: tuple[Insert, dict] | None = None,
    then: tuple[Insert, dict] | None = None,
) -> Outcome:
    """Record `state` unless something newer is already known; history and mail follow the count.

    Newest `as_of` wins; on a tie the later call wins; a final (deleted) row never changes again,
    and a deletion ends the subscription whenever it arrives, even after a newer event.
    `along_with`: an INSERT and its parameters the caller would run just before, under the
    customer's lock, writing none of the tables read here (payments' remembering of the
    customer); run in the round trip of the first read where the database allows.
    `then`: one the caller would run just after, writing none of the tables written or read
    here (payments' remembering again, which asks of the subscriptions as written); run last,
    in the round trip of what follows the row's write where there is one and the database
    allows (an INSERT … SELECT: see database.written_together).
    """
    lock_customer(state.customer_id)
    known = _read_before_write(state, along_with)
    exists_already = known.id is not None
    older = exists_already and state.as_of < known.status_event_created and not state.final
    if exists_already and (known.deleted or older):
        if known.email is None and state.email and known.email_erased_at is None:
            _learn_email(known, state)  # an email is news even when the status is not
        if then is not None:
            db.session.execute(*then)
        return Outcome(False, known.status, known.status, 0)

    values = _written_values(state, known if exists_already else None)
    if exists_already:
        counts = db.session.execute(_UPDATE_ROW, {**values, "row_id": known.id}).scalar_one()
        _forget_loaded_row(known.id)
    else:
        values["stripe_subscription_id"] = state.subscription_id
        counts = db.session.execute(_INSERT_ROW, values).scalar_one()
    previous_status = known.status
    was_member = bool(known.was_member)
    is_member = bool(known.another_counts) or bool(counts)
    delta = int(is_member) - int(was_member)
    history = None
    if previous_status != state.status or delta:
        history = {
            "stripe_subscription_id": state.subscription_id,
            "customer_id": state.customer_id,
            "tier_id": state.tier.id,
            "stripe_event_id": state.event_id,
            "event_type": state.source,
            "status": state.status,
            "member_delta": delta,
            "occurred_at": timestamp(state.as_of),
            "recorded_at": utcnow(),  # given, not left to its default: database.written_together
        }
    # Welcome a customer the first time they count, or once their email arrives if it came late.
    welcome = delta > 0 and not known.was_ever_member
    email = values.get("email", known.email)
    if not delta and known.email is None and email and is_member:
        # Asked before the history row is written: with no change in the count, it adds no join.
        welcome = welcome_owed(state.customer_id, state.subscription_id)
    # The counter's change, the history row, the welcome and `then`: what follows the row's
    # write, in one statement where the database allows.
    writes = [(_INSERT_HISTORY, history)] if history is not None else []
    if welcome and email:
        writes.append(member_welcome(email, state.tier))
    if then is not None:
        writes.append(then)
    if not adjust_member_counter(delta, writes):
        together = written_together(writes)
        for statement, parameters in writes if together is None else [together]:
            db.session.execute(statement, parameters)
    return Outcome(True, previous_status, state.status, delta)


def _read_before_write(state: SubscriptionState, along_with: tuple[Insert, dict] | None):
    parameters = {"customer_id": state.customer_id, "subscription_id": state.subscription_id}
    if along_with is None:
        return db.session.execute(_READ_BEFORE_WRITE, parameters).one()
    statement, its_parameters = along_with
    shared = parameters.keys() & its_parameters.keys()  # one name, one value in one statement
    if not is_postgresql() or any(parameters[name] != its_parameters[name] for name in shared):
        db.session.execute(statement, its_parameters)
        return db.session.execute(_READ_BEFORE_WRITE, parameters).one()
    return db.session.execute(_read_after(statement), {**its_parameters, **parameters}).one()


@cache
def _read_after(statement: Insert):
    """The read with `statement` in its WITH (PostgreSQL runs a data-modifying WITH whether the
    SELECT refers to it or not). The read's snapshot does not show what `statement` writes,
    which is why it must write none of the tables read. Built once per statement."""
    return _READ_BEFORE_WRITE.add_cte(statement.cte("written_before"))


def _forget_loaded_row(row_id: int) -> None:
    """The row was written with a Core statement: a copy this session loaded earlier (the
    handler looked the subscription up, `members reconcile` compared it) is read again."""
    loaded = db.session.identity_map.get(identity_key(MemberSubscription, row_id))
    if loaded is not None:
        db.session.expire(loaded)


def _learn_email(known, state: SubscriptionState) -> None:
    email = email_key(state.email)
    db.session.execute(
        update(_subscriptions).where(_subscriptions.c.id == known.id).values(email=email)
    )
    _forget_loaded_row(known.id)
    if customer_is_member(known.customer_id) and welcome_owed(
        known.customer_id, state.subscription_id
    ):
        tier = db.session.get(Tier, known.tier_id) if known.tier_id is not None else None
        queue_member_welcome(email, tier or state.tier)


def _written_values(state: SubscriptionState, known) -> dict:
    """The row's columns as `state` leaves them (`known`: the row as it was, or None)."""
    values = {
        "customer_id": state.customer_id,
        "tier_id": state.tier.id,
        "status": state.status,
        "status_event_created": state.as_of,
        "deleted": state.final,
    }
    erased = known is not None and known.email_erased_at is not None
    if state.email and not erased:  # an erased address stays erased
        values["email"] = email_key(state.email)  # looked up by "Manage membership"
    # Fields an event does not carry (checkout sessions know no period) keep what we had.
    for name in ("period_end", "started_at", "cancel_at", "canceled_at", "ended_at"):
        value = getattr(state, name)
        column = "current_period_end" if name == "period_end" else name
        if value is not None or state.whole_subscription:
            values[column] = timestamp(value)
    return values


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
