"""The outbox queue: workers claim due messages from it and record each outcome at once.

Every statement here runs on a connection in autocommit: each one is its own transaction and
costs one round trip. Claiming moves a row's next_attempt_at a lease ahead (LEASE) in a single
UPDATE whose WITH takes `FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers running side by
side take disjoint batches; on SQLite the one UPDATE is atomic by itself. A claimed row is then
invisible to other workers until it is recorded, handed back, or its lease runs out (the worker
died); a live worker renews the lease of what it holds (mailer/recorder.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select, update

from database import utcnow
from extensions import db
from mailer.models import FAILED, QUEUED, SENT, OutboxMessage
from mailer.rendering import QueuedMail

LEASE = timedelta(seconds=60)  # OUTBOX_LEASE_SECONDS; renewed while the rows are held
FIRST_RETRY_SECONDS = 30
LONGEST_RETRY_SECONDS = 3600
_ERROR_LENGTH = 1000

_outbox = OutboxMessage.__table__
_ROW_COLUMNS = (
    _outbox.c.id,
    _outbox.c.kind,
    _outbox.c.to_addr,
    _outbox.c.context,
    _outbox.c.language,
    _outbox.c.campaign_id,
    _outbox.c.subscriber_id,
    _outbox.c.created_at,
    _outbox.c.attempts,
)
_STORED_COLUMNS = ("subject", "text_body", "html_body", "headers", "message_id")


def queued_mail(row) -> QueuedMail:
    """A claimed row as renderers see it; rows rendered when queued keep what was rendered."""
    # By position (the RETURNING list is _ROW_COLUMNS then _STORED_COLUMNS, in QueuedMail's
    # order): a mapping per row costs more than the rest of the claim.
    fields = tuple(row)
    count = len(_ROW_COLUMNS)
    stored = None
    if fields[count + 1] is not None:  # text_body
        stored = dict(zip(_STORED_COLUMNS, fields[count:], strict=True))
    return QueuedMail(*fields[:count], stored=stored)


def retry_delay(attempts: int, *, first: float = FIRST_RETRY_SECONDS) -> timedelta:
    """30 s, 1 min, 2 min, … capped at an hour, spread by ±20 % so retries do not move in step."""
    base = first * 2 ** max(attempts - 1, 0)
    seconds = min(base, LONGEST_RETRY_SECONDS) * random.uniform(0.8, 1.2)
    return timedelta(seconds=min(seconds, LONGEST_RETRY_SECONDS))


@contextmanager
def open_outbox_queue() -> Iterator[OutboxQueue]:
    """The OutboxQueue on a pooled connection of its own, apart from db.session."""
    with db.engine.connect() as connection:
        yield OutboxQueue(connection.execution_options(isolation_level="AUTOCOMMIT"))


class OutboxQueue:
    """Due rows out (claim_due); outcomes are written by mailer/recorder.py."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.last_claim_until: datetime | None = None

    def has_due(self) -> bool:
        due = select(_outbox.c.id).where(
            _outbox.c.status == QUEUED, _outbox.c.next_attempt_at <= utcnow()
        )
        return self.connection.execute(due.limit(1)).first() is not None

    def claim_due(self, batch_size: int, *, lease: timedelta = LEASE) -> list[QueuedMail]:
        """Take up to batch_size due rows, oldest first, by moving them a lease ahead.

        The lease's end is this claim's own to the microsecond (a random part under a second):
        should the answer be lost after the database ran the claim (the connection cut), the
        worker hands the rows back by it (hand_back_claimed_until) instead of leaving them
        unsent for the whole lease."""
        now = utcnow()
        self.last_claim_until = now + lease + timedelta(microseconds=random.randrange(1_000_000))
        # In a WITH of its own, materialised: as an IN (subquery), PostgreSQL may run the
        # subquery again for each row it compares, and SKIP LOCKED then finds the next rows
        # each time: one claim of 200 took all 1,600 due rows, out of the other workers' reach.
        due = (
            select(_outbox.c.id)
            .where(_outbox.c.status == QUEUED, _outbox.c.next_attempt_at <= now)
            .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
            .cte("due")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        claim = (
            update(_outbox)
            .where(_outbox.c.id.in_(select(due.c.id)), _outbox.c.status == QUEUED)
            .values(next_attempt_at=self.last_claim_until)
            .returning(*_ROW_COLUMNS, *(_outbox.c[name] for name in _STORED_COLUMNS))
        )
        rows = self.connection.execute(claim).all()
        return sorted((queued_mail(row) for row in rows), key=lambda mail: mail.id)

    def hand_back_claimed_until(self, until: datetime) -> int:
        """Rows a claim whose answer was lost still holds, due again now (none if it never ran)."""
        hand_back = (
            update(_outbox)
            .where(_outbox.c.status == QUEUED, _outbox.c.next_attempt_at == until)
            .values(next_attempt_at=utcnow())
        )
        return self.connection.execute(hand_back).rowcount


# The operator's view (`outbox status`, `outbox requeue`), through db.session.


def count_by_status() -> dict[str, int]:
    rows = db.session.execute(select(_outbox.c.status, func.count()).group_by(_outbox.c.status))
    return {QUEUED: 0, SENT: 0, FAILED: 0} | {status: count for status, count in rows}


def count_due() -> int:
    return db.session.execute(
        select(func.count())
        .select_from(_outbox)
        .where(_outbox.c.status == QUEUED, _outbox.c.next_attempt_at <= utcnow())
    ).scalar_one()


def requeue(ids: Iterable[int] | None = None) -> int:
    """Put failed messages back in the queue with a fresh count of attempts."""
    statement = (
        update(_outbox)
        .where(_outbox.c.status == FAILED)
        .values(status=QUEUED, attempts=0, next_attempt_at=utcnow())
    )
    if ids is not None:
        statement = statement.where(_outbox.c.id.in_(list(ids)))
    count = db.session.execute(statement).rowcount
    db.session.commit()
    return count
