"""Writing what became of each claimed message, from every sender thread, in few transactions.

One thread owns these writes. A sender whose message the server accepted records it and goes
on with the next message, but waits until that "sent" is written before it writes the next
message's final "." (wait_written): a worker killed at any moment leaves at most one
accepted-but-unrecorded message per SMTP connection, and the write overlaps the next
message's envelope and content. Outcomes recorded at the same moment by all the senders go
in one statement: many connections cost few round trips.

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
from sqlalchemy import Connection, Integer, any_, bindparam, update
from sqlalchemy.dialects.postgresql import ARRAY
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
COALESCE_UP_TO = 4  # fewer outcomes than this waiting: give the other senders a moment
COALESCE_SECONDS = 0.0005

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
        lock = threading.Lock()
        self._work = threading.Condition(lock)  # the writing thread waits here
        self._written_now = threading.Condition(lock)  # those waiting for a commit wait here
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
        with self._work:
            if self._thread is not None and self._thread.is_alive():
                return
            self._failure = None
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="outbox-recorder", daemon=True)
            self._thread.start()

    def flush(self) -> None:
        """Wait until everything recorded so far is written; DatabaseUnavailable if it cannot."""
        with self._work:
            self._wait_for(self._accepted)

    def stop(self) -> None:
        """Write what is left (if the database lets it) and end the thread."""
        with self._work:
            self._stopping = True
            self._work.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def hold(self, ids: Iterable[int]) -> None:
        with self._work:
            self._held.update(dict.fromkeys(ids))

    # --- the senders' side ---------------------------------------------------------------

    def record(self, outcome: Outcome) -> int:
        """Keep `outcome` for writing; returns the ticket to wait_written() on."""
        with self._work:
            self._backlog.append(outcome)
            self._held.pop(outcome.mail_id, None)
            self._accepted += 1
            self._work.notify()
            return self._accepted

    def written_up_to(self, ticket: int) -> bool:
        """Whether the outcome with this ticket is written (a glance, no waiting)."""
        return self._written >= ticket

    def wait_written(self, ticket: int) -> None:
        """Return once the outcome with this ticket (and all before it) is written.

        Raises DatabaseUnavailable when it cannot be written now; the outcome is kept.
        """
        with self._work:
            self._wait_for(ticket)

    def record_all(self, outcomes: Iterable[Outcome]) -> None:
        with self._work:
            for outcome in outcomes:
                self._backlog.append(outcome)
                self._held.pop(outcome.mail_id, None)
                self._accepted += 1
            self._work.notify()

    def _wait_for(self, count: int) -> None:
        while self._written < count and self._failure is None:
            self._written_now.wait()
        if self._written < count:
            raise DatabaseUnavailable(self._failure)

    # --- the writing thread --------------------------------------------------------------

    def _run(self) -> None:
        with self._app.app_context():
            try:
                # Each statement its own transaction, one round trip: every one is idempotent,
                # so a batch cut short by a failure is simply written again, whole.
                connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                _prepare(connection)
            except SQLAlchemyError as error:
                self._fail(error)
                return
            try:
                self._write_until_stopped(connection)
            finally:
                if self._failure is None:
                    connection.close()
                else:  # a broken connection is dropped, not reset (which would log a traceback)
                    connection.invalidate()
                db.session.remove()

    def _write_until_stopped(self, connection: Connection) -> None:
        quarter_lease = self.lease.total_seconds() / 4
        next_renewal = time.monotonic() + quarter_lease
        while True:
            with self._work:
                while not self._backlog and not self._stopping:
                    if self._held and time.monotonic() >= next_renewal:
                        break
                    self._work.wait(timeout=max(next_renewal - time.monotonic(), 0.05))
                if self._stopping and not self._backlog:
                    return
                if 0 < len(self._backlog) < COALESCE_UP_TO and not self._stopping:
                    # Other senders are about to record too: one statement for all of them.
                    self._work.wait(timeout=COALESCE_SECONDS)
                batch = list(self._backlog)
                renew = list(self._held) if time.monotonic() >= next_renewal else []
            try:
                _write(connection, batch, renew, self.lease)
            except SQLAlchemyError as error:
                self._fail(error)
                return
            if renew:
                next_renewal = time.monotonic() + quarter_lease
            with self._work:
                del self._backlog[: len(batch)]
                self._written += len(batch)
                self._written_now.notify_all()

    def _fail(self, error: SQLAlchemyError) -> None:
        with self._work:
            self._failure = _first_line(error)
            self._written_now.notify_all()


def _prepare(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # A commit returns once PostgreSQL has the change, before its WAL reaches the disk
        # (4 ms a commit on this machine): a worker killed at any moment loses nothing; only a
        # crash of PostgreSQL itself could forget the last moment of "sent" marks, and those
        # messages would go again under the same Message-ID.
        connection.exec_driver_sql("SET synchronous_commit = off")


def _write(connection: Connection, batch: list[Outcome], renew: list[int], lease) -> None:
    """What the servers accepted first, then the rest."""
    now = utcnow()
    sent: dict[int, list[int]] = {}  # by attempts
    released: dict[datetime, list[int]] = {}
    suppressed: dict[str, list[int]] = {}
    for outcome in batch:
        if outcome.status == SENT:
            sent.setdefault(outcome.attempts, []).append(outcome.mail_id)
        elif outcome.status == RELEASE:
            released.setdefault(outcome.due_at or now, []).append(outcome.mail_id)
        elif outcome.status == SUPPRESSED:
            suppressed.setdefault(outcome.error or "", []).append(outcome.mail_id)
    among = _ids_clause(connection)
    queued = _outbox.c.status == QUEUED
    for attempts, ids in sent.items():
        # Whatever happened to the row meanwhile (held, cancelled), it went: say so.
        _mark_sent(connection, ids, attempts, now)
    for reason, ids in suppressed.items():
        statement = update(_outbox).where(among, queued)
        _in_chunks(connection, statement.values(status=SUPPRESSED, last_error=reason), ids)
    for outcome in batch:
        if outcome.status in (RETRY, FAILED):
            connection.execute(_single(outcome, now))
    for due_at, ids in released.items():
        statement = update(_outbox).where(among, queued).values(next_attempt_at=due_at)
        _in_chunks(connection, statement, ids)
    if renew:
        statement = update(_outbox).where(among, queued).values(next_attempt_at=now + lease)
        _in_chunks(connection, statement, renew)
    refused = [outcome for outcome in batch if outcome.refused_address]
    if refused:
        try:
            for outcome in refused:
                _suppress_refused(outcome.refused_address or "", outcome.error or "")
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


_SENT_ON_POSTGRESQL = (
    "UPDATE outbox SET status = 'sent', sent_at = %(now)s, attempts = %(attempts)s, "
    "last_error = NULL WHERE id = ANY(%(ids)s)"
)


def _mark_sent(connection: Connection, ids: list[int], attempts: int, now: datetime) -> None:
    """The statement of the hot path: on PostgreSQL as the driver's own SQL, which spares
    SQLAlchemy's compilation and caching (half the recorder's time, measured)."""
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        if connection.dialect.name == "postgresql":
            values = {"now": now, "attempts": attempts, "ids": chunk}
            connection.exec_driver_sql(_SENT_ON_POSTGRESQL, values)
        else:
            statement = update(_outbox).where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
            values = {"status": SENT, "sent_at": now, "attempts": attempts, "last_error": None}
            connection.execute(statement.values(**values), {"ids": chunk})


_AMONG_ON_POSTGRESQL = _outbox.c.id == any_(bindparam("ids", type_=ARRAY(Integer)))
_AMONG_ELSEWHERE = _outbox.c.id.in_(bindparam("ids", expanding=True))


def _ids_clause(connection: Connection):
    """id among :ids: one array parameter on PostgreSQL (one cached statement whatever the
    count), an expanded IN list on SQLite."""
    return _AMONG_ON_POSTGRESQL if connection.dialect.name == "postgresql" else _AMONG_ELSEWHERE


def _single(outcome: Outcome, now: datetime):
    error = (outcome.error or "")[:_ERROR_LENGTH] or None
    row = update(_outbox).where(_outbox.c.id == outcome.mail_id)
    if outcome.status == RETRY:
        return row.where(_outbox.c.status == QUEUED).values(
            attempts=outcome.attempts, next_attempt_at=outcome.due_at or now, last_error=error
        )
    values = {"status": FAILED, "attempts": outcome.attempts, "last_error": error}
    if outcome.bounced:
        values["bounced_at"] = now
    return row.where(_outbox.c.status != SENT).values(**values)


def _in_chunks(connection: Connection, statement, ids: list[int]) -> None:
    for start in range(0, len(ids), _CHUNK):
        connection.execute(statement, {"ids": ids[start : start + _CHUNK]})


def _suppress_refused(address: str, detail: str) -> None:
    """A 5xx refusal of a recipient suppresses the address (CONTRACT.md, Suppressions)."""
    try:
        suppress(address, REFUSED, detail[:300])
    except InvalidEmail:
        pass  # not an address we could have stored: nothing to suppress


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
