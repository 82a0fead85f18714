"""The outbox worker: claim due rows, send them, record each outcome the moment it is known.

Claiming sets a row's next_attempt_at a lease ahead (LEASE) in one short transaction, with
`FOR UPDATE SKIP LOCKED` on PostgreSQL so that workers running side by side take disjoint
batches; SQLite runs the claim as one atomic UPDATE. Every later step commits on its own, so a
message the server accepted is marked sent before the next one is tried, and a worker that dies
mid-batch leaves its remaining rows to come due again when the lease runs out. The one case no
outbox can close: the server accepts, then the database write is lost; that message goes again
after the lease, under the same Message-ID so receivers can tell.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from database import utcnow
from extensions import db
from mailer.message import Mail, Sender
from mailer.models import FAILED, QUEUED, SENT, OutboxMessage
from mailer.senders import (
    OutboxSender,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
    make_sender,
)

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=15)
FIRST_RETRY_SECONDS = 30
LONGEST_RETRY_SECONDS = 3600
LONGEST_PAUSE_SECONDS = 300
# This many 4xx answers in a row say more about the server than about the messages.
TEMPORARY_FAILURES_BEFORE_PAUSE = 10
DEFAULT_BATCH_SIZE = 200
_ERROR_LENGTH = 1000

outbox = OutboxMessage.__table__
_MAIL_COLUMNS = (
    outbox.c.id,
    outbox.c.to_addr,
    outbox.c.subject,
    outbox.c.text_body,
    outbox.c.html_body,
    outbox.c.message_id,
    outbox.c.created_at,
    outbox.c.headers,
    outbox.c.attempts,
)


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at an hour, spread by ±20 % so retries do not move in step."""
    base = FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    seconds = min(base, LONGEST_RETRY_SECONDS) * random.uniform(0.8, 1.2)
    return timedelta(seconds=min(seconds, LONGEST_RETRY_SECONDS))


@dataclass
class PassResult:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    server_unavailable: str | None = None
    problems: list[str] = field(default_factory=list)

    def did_work(self) -> bool:
        return bool(self.sent or self.retry or self.failed)

    def summary(self) -> str:
        return f"sent {self.sent}, retry {self.retry}, failed {self.failed}"


def sender_identity() -> Sender:
    config = current_app.config
    return Sender(config["MAIL_FROM"], config.get("MAIL_FROM_NAME") or "")


def deliver_due(*, batch_size: int = DEFAULT_BATCH_SIZE) -> PassResult:
    """Send everything due now through SMTP_URL, as `outbox work --once` does (app context)."""
    sender = make_sender(current_app.config["SMTP_URL"], sender_identity())
    worker = OutboxWorker(
        sender,
        batch_size=batch_size,
        max_attempts=current_app.config["OUTBOX_MAX_ATTEMPTS"],
    )
    return worker.run_pass()


class OutboxWorker:
    def __init__(
        self,
        sender: OutboxSender,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_attempts: int = 12,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.sender = sender
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.should_stop = should_stop
        self._temporary_streak = 0

    def run_pass(self) -> PassResult:
        """Drain what is due, batch after batch, on one connection; stop if the server is down."""
        result = PassResult()
        self._temporary_streak = 0
        if not has_due():  # an idle poll stays a read; claiming is a write
            return result
        try:
            while not self.should_stop():
                batch = claim_due(self.batch_size)
                if not batch:
                    break
                self._send_batch(batch, result)
                if result.server_unavailable:
                    break
        finally:
            self.sender.close()
        return result

    def _send_batch(self, batch: list[Mail], result: PassResult) -> None:
        claimed_at = utcnow()
        index = 0
        try:
            for index, mail in enumerate(batch):  # noqa: B007  (index is read after a raise)
                if self.should_stop() or utcnow() - claimed_at > LEASE / 2:
                    release(mail.id for mail in batch[index:])
                    return
                retry_at = self._deliver(mail, result)
                if result.server_unavailable:
                    # Nothing else can go now: the rest wait with the one that found the server
                    # down, without spending one of their own attempts on it.
                    release((later.id for later in batch[index + 1 :]), at=retry_at)
                    return
        except BaseException:
            _release_quietly(mail.id for mail in batch[index + 1 :])
            raise

    def _deliver(self, mail: Mail, result: PassResult) -> datetime:
        """Send one message and record what happened; returns when it is due next."""
        try:
            self.sender.send(mail)
        except ServerUnavailable as error:
            result.server_unavailable = str(error)
            return self._retry_or_fail(mail, error, result)
        except TemporaryFailure as error:
            self._temporary_streak += 1
            if self._temporary_streak >= TEMPORARY_FAILURES_BEFORE_PAUSE:
                result.server_unavailable = (
                    f"{self._temporary_streak} messages in a row refused for now, last: {error}"
                )
            return self._retry_or_fail(mail, error, result)
        except PermanentFailure as error:
            self._temporary_streak = 0
            mark_failed(mail, str(error))
            result.failed += 1
            result.problems.append(f"#{mail.id} to {mail.to_addr} failed: {error}")
            return utcnow()
        except Exception as error:  # an unforeseen error must cost one attempt, never the row
            log.exception("outbox message %s could not be sent", mail.id)
            return self._retry_or_fail(mail, error, result)
        mark_sent(mail)
        self._temporary_streak = 0
        result.sent += 1
        return utcnow()

    def _retry_or_fail(self, mail: Mail, error: Exception, result: PassResult) -> datetime:
        reason = str(error) or type(error).__name__
        if mail.attempts + 1 >= self.max_attempts:
            mark_failed(mail, f"gave up after {mail.attempts + 1} attempts: {reason}")
            result.failed += 1
            result.problems.append(f"#{mail.id} to {mail.to_addr} failed for good: {reason}")
            return utcnow() + retry_delay(1)
        retry_at = mark_retry(mail, reason)
        result.retry += 1
        result.problems.append(
            f"#{mail.id} to {mail.to_addr} retries at {retry_at:%H:%M:%S} UTC: {reason}"
        )
        return retry_at


def has_due() -> bool:
    due = select(outbox.c.id).where(outbox.c.status == QUEUED, outbox.c.next_attempt_at <= utcnow())
    found = db.session.execute(due.limit(1)).first() is not None
    db.session.commit()  # end the read, so the claim starts a transaction of its own
    return found


def claim_due(batch_size: int) -> list[Mail]:
    """Take up to batch_size due rows for this worker by moving them a lease into the future."""
    now = utcnow()
    due_ids = (
        select(outbox.c.id)
        .where(outbox.c.status == QUEUED, outbox.c.next_attempt_at <= now)
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(outbox)
        .where(outbox.c.id.in_(due_ids.scalar_subquery()), outbox.c.status == QUEUED)
        .values(next_attempt_at=now + LEASE)
        .returning(*_MAIL_COLUMNS)
    )
    try:
        rows = db.session.execute(claim).all()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return sorted((Mail(**row._mapping) for row in rows), key=lambda mail: mail.id)


def mark_sent(mail: Mail) -> None:
    _record(
        mail.id,
        status=SENT,
        sent_at=utcnow(),
        attempts=mail.attempts + 1,
        last_error=None,
    )


def mark_retry(mail: Mail, reason: str) -> datetime:
    attempts = mail.attempts + 1
    retry_at = utcnow() + retry_delay(attempts)
    _record(mail.id, attempts=attempts, next_attempt_at=retry_at, last_error=reason[:_ERROR_LENGTH])
    return retry_at


def mark_failed(mail: Mail, reason: str) -> None:
    _record(mail.id, status=FAILED, attempts=mail.attempts + 1, last_error=reason[:_ERROR_LENGTH])


def release(ids: Iterable[int], *, at: datetime | None = None) -> None:
    """Hand claimed rows back untried, due at `at` (now by default)."""
    ids = list(ids)
    if not ids:
        return
    db.session.execute(
        update(outbox)
        .where(outbox.c.id.in_(ids), outbox.c.status == QUEUED)
        .values(next_attempt_at=at or utcnow())
    )
    db.session.commit()


def _release_quietly(ids: Iterable[int]) -> None:
    try:
        db.session.rollback()
        release(ids)
    except SQLAlchemyError:
        log.warning("could not hand back claimed outbox rows; they come due after the lease")


def _record(mail_id: int, **values) -> None:
    db.session.execute(update(outbox).where(outbox.c.id == mail_id).values(**values))
    db.session.commit()


def count_by_status() -> dict[str, int]:
    rows = db.session.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
    return {QUEUED: 0, SENT: 0, FAILED: 0} | {status: count for status, count in rows}


def count_due() -> int:
    return db.session.execute(
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.status == QUEUED, outbox.c.next_attempt_at <= utcnow())
    ).scalar_one()


def requeue(ids: Iterable[int] | None = None) -> int:
    """Put failed messages back in the queue with a fresh count of attempts."""
    statement = (
        update(outbox)
        .where(outbox.c.status == FAILED)
        .values(status=QUEUED, attempts=0, next_attempt_at=utcnow())
    )
    if ids is not None:
        statement = statement.where(outbox.c.id.in_(list(ids)))
    count = db.session.execute(statement).rowcount
    db.session.commit()
    return count


def run_forever(
    worker: OutboxWorker,
    *,
    stop: threading.Event,
    report: Callable[[str], None],
    poll_interval: float = 1.0,
) -> None:
    """Pass after pass until `stop` is set; a down server or database pauses it, never ends it."""
    outages = 0
    while not stop.is_set():
        try:
            result = worker.run_pass()
        except SQLAlchemyError as error:
            report(f"database error, trying again in 5 s: {first_line(error)}")
            stop.wait(5)
            continue
        finally:
            db.session.remove()  # hand the connection back between passes
        if result.did_work():
            report(result.summary())
            for problem in result.problems[:10]:
                report(f"  {problem}")
        if result.server_unavailable:
            outages += 1
            pause = min(FIRST_RETRY_SECONDS * 2 ** (outages - 1), LONGEST_PAUSE_SECONDS)
            report(f"SMTP server unavailable, pausing {pause} s: {result.server_unavailable}")
            stop.wait(pause)
        else:
            outages = 0
            stop.wait(poll_interval)


def first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
