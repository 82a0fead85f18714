"""Writing what became of each claimed message, from every sender thread, in few transactions.

One thread owns these writes. A sender that has handed a message to the server waits until
its "sent" is committed before it lets the server accept another (record(..., wait=True)), so
a worker killed at any moment leaves at most one accepted-but-unrecorded message per SMTP
connection. Outcomes of the senders waiting at the same moment go in one transaction: many
connections cost few commits.

When the database cannot be written, outcomes stay here in memory, the thread stops, and the
senders stop with it. The next pass writes them first, before it claims anything: messages
the server accepted are marked sent, rows claimed but never tried are handed back (due at
once), so nothing waits for its lease to run out while this worker is alive.

While rows are held, their lease is renewed every quarter lease (OUTBOX_LEASE_SECONDS, 60 s
by default): a worker that is slow, not dead, keeps what it claimed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import bindparam, update
from sqlalchemy.exc import SQLAlchemyError

from addresses import InvalidEmail
from database import utcnow
from extensions import db
from mailer.models import FAILED, QUEUED, SENT, SUPPRESSED, OutboxMessage
from mailer.suppression_models import REFUSED
from mailer.suppressions import suppress

RETRY = "retry"
RELEASE = "release"  # handed back untried
_ERROR_LENGTH = 1000
_CHUNK = 5000  # ids per IN (...): well within either database's limit on parameters

_outbox = OutboxMessage.__table__


@dataclass(frozen=True)
class Outcome:
    mail_id: int
    status: str  # SENT, RETRY, FAILED, SUPPRESSED or RELEASE
    attempts: int = 0  # the row's attempts once this is written
    due_at: datetime | None = None  # RETRY, RELEASE
    error: str | None = None
    bounced: bool = False
    refused_address: str | None = None  # to suppress: refused with a 5xx


class DatabaseUnavailable(Exception):
    """Outcomes cannot be written now; they are kept and written first when it can."""


class OutcomeRecorder:
    def __init__(self, app: Flask, lease: timedelta) -> None:
        self._app = app
        self.lease = lease
        self._changed = threading.Condition()
        self._backlog: list[Outcome] = []
        self._held: dict[int, None] = {}  # claimed, no outcome yet (ordered, for renewals)
        self._accepted = 0  # outcomes handed to record() so far
        self._written = 0  # of those, written
        self._failure: str | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None

    # --- the worker's side ---------------------------------------------------------------

    def start(self) -> None:
        """Start writing (again): a backlog from a failed pass is written first."""
        with self._changed:
            if self._thread is not None and self._thread.is_alive():
                return
            self._failure = None
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="outbox-recorder", daemon=True)
            self._thread.start()

    def flush(self) -> None:
        """Wait until everything recorded so far is written; DatabaseUnavailable if it cannot."""
        with self._changed:
            target = self._accepted
            while self._written < target and self._failure is None:
                self._changed.wait()
            if self._written < target:
                raise DatabaseUnavailable(self._failure)

    def stop(self) -> None:
        """Write what is left (if the database lets it) and end the thread."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def hold(self, ids: Iterable[int]) -> None:
        with self._changed:
            self._held.update(dict.fromkeys(ids))

    @property
    def backlog(self) -> int:
        with self._changed:
            return len(self._backlog)

    @property
    def failure(self) -> str | None:
        return self._failure

    # --- the senders' side ---------------------------------------------------------------

    def record(self, outcome: Outcome, *, wait: bool = False) -> None:
        """Keep `outcome` for writing; with `wait`, return once it is committed.

        Raises DatabaseUnavailable (after keeping it) when it cannot be written now.
        """
        with self._changed:
            self._backlog.append(outcome)
            self._held.pop(outcome.mail_id, None)
            self._accepted += 1
            mine = self._accepted
            self._changed.notify_all()
            if not wait:
                return
            while self._written < mine and self._failure is None:
                self._changed.wait()
            if self._written < mine:
                raise DatabaseUnavailable(self._failure)

    def record_all(self, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            self.record(outcome)

    # --- the writing thread --------------------------------------------------------------

    def _run(self) -> None:
        with self._app.app_context():
            next_renewal = time.monotonic() + self.lease.total_seconds() / 4
            while True:
                with self._changed:
                    while not self._backlog and not self._stopping:
                        if time.monotonic() >= next_renewal and self._held:
                            break
                        self._changed.wait(timeout=max(next_renewal - time.monotonic(), 0.05))
                    if self._stopping and not self._backlog:
                        return
                    batch = list(self._backlog)
                    renew = list(self._held) if time.monotonic() >= next_renewal else []
                try:
                    self._write(batch, renew)
                except SQLAlchemyError as error:
                    _rollback_quietly()
                    with self._changed:
                        self._failure = _first_line(error)
                        self._changed.notify_all()
                    return
                finally:
                    db.session.remove()
                if renew:
                    next_renewal = time.monotonic() + self.lease.total_seconds() / 4
                with self._changed:
                    del self._backlog[: len(batch)]
                    self._written += len(batch)
                    self._changed.notify_all()

    def _write(self, batch: list[Outcome], renew: list[int]) -> None:
        """Everything in one transaction, what the servers accepted first."""
        now = utcnow()
        sent_by_attempts: dict[int, list[int]] = {}
        released: dict[datetime, list[int]] = {}
        for outcome in batch:
            if outcome.status == SENT:
                sent_by_attempts.setdefault(outcome.attempts, []).append(outcome.mail_id)
            elif outcome.status == RELEASE:
                released.setdefault(outcome.due_at or now, []).append(outcome.mail_id)
        for attempts, ids in sent_by_attempts.items():
            # Whatever happened to the row meanwhile (held, cancelled), it went: say so.
            statement = update(_outbox).where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
            _in_chunks(
                statement.values(status=SENT, sent_at=now, attempts=attempts, last_error=None),
                ids,
            )
        for outcome in batch:
            if outcome.status not in (SENT, RELEASE):
                db.session.execute(_single(outcome, now))
            if outcome.refused_address:
                _suppress_refused(outcome.refused_address, outcome.error or "")
        for due_at, ids in released.items():
            statement = update(_outbox).where(
                _outbox.c.id.in_(bindparam("ids", expanding=True)), _outbox.c.status == QUEUED
            )
            _in_chunks(statement.values(next_attempt_at=due_at), ids)
        if renew:
            statement = update(_outbox).where(
                _outbox.c.id.in_(bindparam("ids", expanding=True)), _outbox.c.status == QUEUED
            )
            _in_chunks(statement.values(next_attempt_at=now + self.lease), renew)
        db.session.commit()


def _single(outcome: Outcome, now: datetime):
    error = (outcome.error or "")[:_ERROR_LENGTH] or None
    row = update(_outbox).where(_outbox.c.id == outcome.mail_id)
    if outcome.status == RETRY:
        return row.where(_outbox.c.status == QUEUED).values(
            attempts=outcome.attempts, next_attempt_at=outcome.due_at or now, last_error=error
        )
    if outcome.status == FAILED:
        values = {"status": FAILED, "attempts": outcome.attempts, "last_error": error}
        if outcome.bounced:
            values["bounced_at"] = now
        return row.where(_outbox.c.status != SENT).values(**values)
    if outcome.status == SUPPRESSED:
        return row.where(_outbox.c.status == QUEUED).values(status=SUPPRESSED, last_error=error)
    raise ValueError(f"unknown outcome {outcome.status!r}")


def _in_chunks(statement, ids: list[int]) -> None:
    for start in range(0, len(ids), _CHUNK):
        db.session.execute(statement, {"ids": ids[start : start + _CHUNK]})


def _suppress_refused(address: str, detail: str) -> None:
    """A 5xx refusal of a recipient suppresses the address (CONTRACT.md, Suppressions)."""
    try:
        suppress(address, REFUSED, detail[:300])
    except InvalidEmail:
        pass  # not an address we could have stored: nothing to suppress


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
