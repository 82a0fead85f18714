"""The members count: the one definition of "member", and the goal it is measured against.

/api/goal, the membership page, the article banner, the widget, the SVG badge and the staff
dashboard all call goal_progress(); nothing else counts members.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    and_,
    cast,
    delete,
    distinct,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.dml import Insert

from caching import TTLCache
from database import held_in_transaction, is_postgresql, upsert, utcnow, written_together
from extensions import db
from membership.models import COUNTING_STATUSES, AppSetting, MemberSubscription

GOAL_SETTING = "membership_goal"
MAX_GOAL = 10_000_000

# Who is a member, as SQL: a subscription to one of our tiers whose status counts and that was
# not deleted. The counter, fulfilment (its read, and the RETURNING of its write) and the dashboard
# all use it. The statuses are one bound value each, not an "expanding" list: that one is
# rendered into the SQL again at every execution, and fulfilment runs this on every event.
COUNTS_AS_MEMBER = and_(
    MemberSubscription.status.in_([literal(status) for status in COUNTING_STATUSES]),
    MemberSubscription.tier_id.is_not(None),
    MemberSubscription.deleted.is_(False),
)


@dataclass(frozen=True)
class GoalProgress:
    members: int
    goal: int
    updated_at: datetime

    @property
    def percent(self) -> float:
        if self.goal <= 0:
            return 100.0
        return round(min(100.0, self.members * 100.0 / self.goal), 2)

    @property
    def remaining(self) -> int:
        return max(0, self.goal - self.members)

    def as_json(self) -> dict:
        return {
            "members": self.members,
            "goal": self.goal,
            "percent": self.percent,
            "updated_at": self.updated_at.isoformat().replace("+00:00", "Z"),
        }


# The count is kept in one AppSetting row that apply_subscription_state() adjusts in the same
# transaction as each change, so reading it costs one primary-key lookup rather than a scan of
# every subscription (about 750 ms at a million rows on PostgreSQL). count_members_exactly() is
# the definition; the row is (re)built from it when missing and by `members reconcile`.
COUNTER_SETTING = "members_counted"
# On PostgreSQL each change adds to one of these rows (members_counted.0 … .15), picked at
# random, rather than to the one row: concurrent webhooks would otherwise queue on its lock
# (about 80 events a second). The count is the row above plus these; building the counter
# folds them in and deletes them.
COUNTER_SHARDS = 16
_SHARD_PREFIX = COUNTER_SETTING + "."
_SHARD_OF_SESSION = "member_counter_shard"
# Writers hold this lock shared; whoever builds the counter holds it exclusively, so no change
# can slip between the exact count and the row it is stored in. Fulfilment takes it with every
# customer's lock (counter_lock_column), whether the count then changes or not; building the
# counter only tries for it, and answers the exact count unstored while writers hold it.
_COUNTER_LOCK = 7_240_001
_COUNTER_LOCK_HELD = "member_counter_lock"
_SHARED_LOCK = "shared"


def counter_lock_column():
    """The writers' shared lock on the counter as a column (PostgreSQL), so a statement that
    fulfilment runs anyway can take it; call counter_locked() once it ran."""
    return func.pg_advisory_xact_lock_shared(literal(_COUNTER_LOCK, BigInteger)).label(
        "counter_locked"
    )


def counter_locked() -> None:
    held_in_transaction(_COUNTER_LOCK_HELD).add(_SHARED_LOCK)


def _members_query():
    """Distinct Stripe customers with a subscription to one of our tiers that counts."""
    return select(func.count(distinct(MemberSubscription.customer_id))).where(COUNTS_AS_MEMBER)


def count_members_exactly() -> int:
    return db.session.execute(_members_query()).scalar_one()


def counting_customers(customer_ids: list[str]) -> set[str]:
    """Those of these Stripe customers who count as members now."""
    if not customer_ids:
        return set()
    query = select(MemberSubscription.customer_id).where(
        COUNTS_AS_MEMBER, MemberSubscription.customer_id.in_(customer_ids)
    )
    return set(db.session.execute(query.distinct()).scalars())


def addresses_counted_more_than_once() -> list[tuple[str, int]]:
    """(address, members) for each address that more than one counting customer holds: a reader
    counted twice (customers made before checkout reused them, or made in Stripe's dashboard)."""
    customers = func.count(distinct(MemberSubscription.customer_id))
    query = (
        select(MemberSubscription.email, customers)
        .where(COUNTS_AS_MEMBER, MemberSubscription.email.is_not(None))
        .group_by(MemberSubscription.email)
        .having(customers > 1)
        .order_by(MemberSubscription.email)
    )
    return [(email, int(count)) for email, count in db.session.execute(query)]


def count_members() -> int:
    """The number of members (see count_members_exactly for who counts)."""
    rows = db.session.execute(
        select(AppSetting.key, AppSetting.value).where(
            or_(AppSetting.key == COUNTER_SETTING, AppSetting.key.startswith(_SHARD_PREFIX))
        )
    ).all()
    if any(key == COUNTER_SETTING for key, _ in rows):
        return sum(int(value) for _, value in rows)
    return recount_members(only_if_missing=True)


def recount_members(only_if_missing: bool = False) -> int:
    """Count exactly and store the result as the counter, in a transaction of its own."""
    with db.engine.connect() as connection:
        on_sqlite = connection.dialect.name == "sqlite"
        if on_sqlite:
            # The caller may hold SQLite's write lock itself: give up at once rather than wait.
            busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            connection.exec_driver_sql("PRAGMA busy_timeout = 100")
            connection.commit()
        try:
            with connection.begin():
                return _store_exact_count(connection, only_if_missing)
        except (OperationalError, _CounterBusy):
            return count_members_exactly()  # answer exactly; the counter is built next time
        finally:
            if on_sqlite:
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(busy_timeout)}")
                connection.commit()


class _CounterBusy(Exception):
    pass


def _store_exact_count(connection, only_if_missing: bool) -> int:
    if connection.dialect.name == "postgresql":
        # try_: a caller already inside a writing transaction must not wait on itself.
        locked = connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _COUNTER_LOCK}
        ).scalar()
        if not locked:
            raise _CounterBusy()
    counted = connection.execute(_members_query()).scalar_one()
    values = {"key": COUNTER_SETTING, "value": str(counted), "updated_at": utcnow()}
    statement = upsert(AppSetting.__table__).values(**values)
    if only_if_missing:
        statement = statement.on_conflict_do_nothing(index_elements=["key"])
    else:
        statement = statement.on_conflict_do_update(
            index_elements=["key"],
            set_={"value": values["value"], "updated_at": values["updated_at"]},
        )
    stored = connection.execute(statement.returning(AppSetting.__table__.c.key)).first()
    if stored is not None:  # the exact count holds every change so far: none is kept apart
        connection.execute(delete(AppSetting).where(AppSetting.key.startswith(_SHARD_PREFIX)))
    return counted


def adjust_member_counter(delta: int, along_with: Sequence[tuple[Insert, dict]] = ()) -> bool:
    """Called by fulfilment, inside its transaction, whenever the number of members changes.

    `along_with`, INSERTs and their parameters that the caller runs next anyway (fulfilment's
    history row, then what follows it), may be run in the same statement as the counter's
    change (database.written_together): True when they were (on PostgreSQL; one round trip of
    the few a new member costs). They see the snapshot the shard's own statement would, taken
    once the counter's lock is held."""
    if not delta:
        return False
    _cache.clear_after_commit()  # this process shows the new count as soon as it is committed
    if not is_postgresql():  # SQLite runs one writer at a time: the one row will do
        db.session.execute(
            update(AppSetting)
            .where(AppSetting.key == COUNTER_SETTING)
            .values(
                value=cast(cast(AppSetting.value, Integer) + delta, String), updated_at=utcnow()
            )
        )
        return False
    # Before the insert, in a statement of its own unless fulfilment's customer lock took it
    # already (counter_lock_column): the insert's snapshot must be taken once the lock is held.
    if _SHARED_LOCK not in held_in_transaction(_COUNTER_LOCK_HELD):
        db.session.execute(select(counter_lock_column()))
        counter_locked()
    # One shard per session: a transaction that changes the count twice must not hold two
    # shards, or two such transactions could wait on each other.
    number = db.session.info.setdefault(_SHARD_OF_SESSION, random.randrange(COUNTER_SHARDS))
    shard = f"{_SHARD_PREFIX}{number}"
    parameters = {"key": COUNTER_SETTING, "shard": shard, "delta": delta, "now": utcnow()}
    together = written_together([*along_with[:1], (_ADD_TO_A_SHARD, parameters), *along_with[1:]])
    if together is None:
        db.session.execute(_ADD_TO_A_SHARD, parameters)
        return False
    db.session.execute(*together)
    return True


# Under the writers' shared lock (see _COUNTER_LOCK); nothing is added while the counter is
# missing, since building it counts everything exactly.
_ADD_TO_A_SHARD = text(
    """
    INSERT INTO app_settings (key, value, updated_at)
    SELECT :shard, CAST(:delta AS text), :now
    WHERE EXISTS (SELECT 1 FROM app_settings WHERE key = :key)
    ON CONFLICT (key) DO UPDATE SET
        value = CAST(CAST(app_settings.value AS integer) + :delta AS text),
        updated_at = excluded.updated_at
    """
)


def current_goal() -> int:
    stored = db.session.get(AppSetting, GOAL_SETTING)
    if stored is not None:
        try:
            return int(stored.value)
        except ValueError:
            pass
    return int(current_app.config["MEMBERSHIP_GOAL"])


def set_goal(goal: int) -> None:
    """Store the goal staff chose; the caller commits (this process then shows it at once)."""
    if not 1 <= goal <= MAX_GOAL:
        raise ValueError(f"The goal must be between 1 and {MAX_GOAL:,}.")
    now = utcnow()
    statement = upsert(AppSetting.__table__).values(
        key=GOAL_SETTING, value=str(goal), updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["key"], set_={"value": str(goal), "updated_at": now}
    )
    db.session.execute(statement)
    _cache.clear_after_commit()


# A few seconds per process so a busy banner does not read the counter on every request.
_cache: TTLCache[GoalProgress] = TTLCache("GOAL_CACHE_SECONDS", default_ttl=2)


def goal_progress() -> GoalProgress:
    return _cache.get(
        lambda: GoalProgress(members=count_members(), goal=current_goal(), updated_at=utcnow())
    )


def progress_generation() -> int:
    """Changes when this process learns of a new count or goal (see caching.TTLCache)."""
    return _cache.generation


def forget_cached_progress() -> None:
    """Clear this process's figures now (after a recount, which commits on its own)."""
    _cache.clear()


def member_addresses():
    """A SELECT of members' addresses, lower-cased as subscribers.email_key keeps them, by the
    definition that counts members (COUNTS_AS_MEMBER): who a members-only list reaches."""
    return (
        select(func.lower(MemberSubscription.email))
        .where(COUNTS_AS_MEMBER, MemberSubscription.email.is_not(None))
        .distinct()
    )
