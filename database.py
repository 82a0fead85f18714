"""Column types and statements that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import select
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache

import psycopg
from flask import g, has_request_context
from sqlalchemy import DateTime, Table, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import Pool
from sqlalchemy.sql import Executable, TextClause
from sqlalchemy.types import TypeDecorator

from config import COMMAND_TIMEOUT_ARG, PING_AFTER_IDLE_ARG, REQUEST_TIMEOUT_ARG
from extensions import db

# Our ids are INTEGER columns on PostgreSQL (SQLite's are 64-bit, but the two must agree):
# a larger number in a URL or a paging parameter would fail in the database as out of range.
MAX_DATABASE_ID = 2**31 - 1
# A slug column (lists, tiers): String(64), safe in URLs, forms and mail headers as it is.
SLUG_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"


def database_id(text: str) -> int:
    """An id read from text: ValueError unless it is a whole number our id columns can hold."""
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        raise ValueError("not an id")
    value = int(text)
    if not 0 <= value <= MAX_DATABASE_ID:
        raise ValueError("out of range")
    return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC and always hands back an aware datetime (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def upsert(table: Table):
    """An INSERT that supports on_conflict_do_nothing/do_update on either database."""
    return upsert_for(dialect_name(), table)


def upsert_for(dialect: str, table: Table):
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def dialect_name() -> str:
    return db.engine.dialect.name


def is_postgresql() -> bool:
    return dialect_name() == "postgresql"


def session_in_transaction() -> bool:
    """Whether the request's (or command's) session holds a transaction, asked without making
    a session where none was made yet: one made only to answer no would be closed again at the
    request's end (~20 µs of a signup that takes its connection from the pool directly)."""
    return db.session.registry.has() and db.session().in_transaction()


def held_in_transaction(name: str) -> set:
    """A set kept for the session's current transaction under `name`, empty in each new one:
    what the caller took that ends with the transaction (a PostgreSQL advisory xact lock)."""
    transaction = db.session().get_transaction()  # the scoped session proxies no such method
    if transaction is None:
        return set()  # nothing begun: nothing held, and nothing to remember it by
    held = db.session.info.get(name)
    if held is None or held[0] is not transaction:
        held = (transaction, set())
        db.session.info[name] = held
    return held[1]


def written_together(writes: Sequence[tuple[Executable, dict]]) -> tuple[Executable, dict] | None:
    """These writes (INSERTs, or an INSERT as text) and their parameters as one statement: the
    first, with the others in its WITH (PostgreSQL runs a data-modifying WITH whether or not
    the statement refers to it). None where they cannot be: on SQLite, for fewer than two, or
    when a name is given two values (one name, one value in one statement).

    They see one snapshot, taken as the statement starts, so none may write a table another
    reads. The first is given every column it writes: SQLAlchemy leaves a column's Python
    default out of an INSERT whose WITH holds another (NULL, then). The others name their
    columns (INSERT … SELECT): an INSERT … VALUES in a WITH takes more columns from the names
    of the statement's parameters; and theirs are named after none of the first's columns,
    which SQLAlchemy keeps for the first."""
    if len(writes) < 2 or not is_postgresql():
        return None
    parameters: dict = {}
    for _, its in writes:
        for name, value in its.items():
            if parameters.setdefault(name, value) != value:
                return None
    return _written_together(*(statement for statement, _ in writes)), parameters


@cache
def _written_together(first: Executable, *others: Executable) -> Executable:
    """Built once per statements."""
    carried = []
    for number, other in enumerate(others, 1):
        writes = other.columns() if isinstance(other, TextClause) else other
        carried.append(writes.cte(f"written_along_{number}"))
    return first.add_cte(*carried)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets the mail worker read while the web process writes; foreign keys as in PostgreSQL."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()


def run_in_transaction(work, attempts: int = 3):
    """Run `work` and commit; a unique-index race, a deadlock or a busy SQLite lock runs it
    again whole. A database that is unreachable is not tried again: the caller answers 503.

    `work` must only touch the database, so that running it again after a rollback is safe.
    """
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            db.session.commit()
            return result
        except (IntegrityError, OperationalError) as failure:
            db.session.rollback()
            if attempt == attempts or not _worth_running_again(failure):
                raise
    raise AssertionError("unreachable")


def _worth_running_again(failure: IntegrityError | OperationalError) -> bool:
    if isinstance(failure, IntegrityError):
        return True
    transient = (sqlite3.OperationalError, psycopg.errors.TransactionRollback)
    return isinstance(failure.orig, transient) and not failure.connection_invalidated


# What an unreachable, frozen or overloaded database raises, wrapped by SQLAlchemy or not.
_OUTAGE_ERRORS = (
    sa_exc.OperationalError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # no pooled connection came free within pool_timeout
    psycopg.OperationalError,
    sqlite3.OperationalError,
)


def is_database_outage(error: BaseException) -> bool:
    """True for an error that says the database cannot be reached or did not answer in time,
    as opposed to a bug in a statement (those stay 500s)."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _OUTAGE_ERRORS)


def outage_summary(error: BaseException) -> str:
    """One line naming what failed, without the statement or its parameters (addresses)."""
    cause = getattr(error, "orig", None) or error
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line[:200]}"


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection that gives up on a server that does not answer.

    psycopg waits for an answer without limit, and a frozen server (stopped, or a network that
    drops packets) still acknowledges at the TCP level, so keepalives never fire and the
    server-side statement_timeout never runs. Here each wait for the server ends after
    `request_timeout` seconds inside a web request, or `command_timeout` elsewhere (the outbox
    worker, the CLI); the connection is then closed, which SQLAlchemy reads as a disconnect and
    drops from the pool.
    """

    request_timeout: float | None = None
    command_timeout: float | None = None

    def wait(self, gen, interval=0.1, timeout=None):
        if timeout is None:
            timeout = self.request_timeout if has_request_context() else self.command_timeout
        try:
            return super().wait(gen, interval=interval, timeout=timeout)
        except psycopg.errors._WaitTimeout:
            self.pgconn.finish()
            _remember_outage_in_this_request()
            raise psycopg.OperationalError(
                f"the database did not answer within {timeout:g} s: connection closed"
            ) from None


_OUTAGE_SEEN = "database_outage_seen"


def _remember_outage_in_this_request() -> None:
    """A request that found the database unreachable once does not wait on it again (a stale
    cached figure may let it go on): its answer, a 503, comes within one wait, not several."""
    if has_request_context():
        g.setdefault(_OUTAGE_SEEN, True)


@event.listens_for(Engine, "do_connect")
def _connect_with_deadlines(dialect, _record, cargs, cparams):
    request_timeout = cparams.pop(REQUEST_TIMEOUT_ARG, None)
    command_timeout = cparams.pop(COMMAND_TIMEOUT_ARG, None)
    ping_after_idle = cparams.pop(PING_AFTER_IDLE_ARG, None)
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        return None
    if ping_after_idle is not None:
        _record.info[_PING_AFTER_IDLE] = (dialect, ping_after_idle)
    if has_request_context() and g.get(_OUTAGE_SEEN):
        raise psycopg.OperationalError("the database was unreachable earlier in this request")
    try:
        connection = DeadlineConnection.connect(*cargs, **cparams)
    except psycopg.OperationalError:
        _remember_outage_in_this_request()
        raise
    connection.request_timeout = request_timeout
    connection.command_timeout = command_timeout
    return connection


# Kept in a pooled connection's record.info (cleared when the pool replaces the connection).
_PING_AFTER_IDLE = "ping_after_idle"  # (dialect, seconds), for connections that ask for it
_RETURNED_AT = "returned_to_pool_at"  # time.monotonic() at its last checkin


@event.listens_for(Pool, "checkin")
def _remember_when_returned(_dbapi_connection, record) -> None:
    if _PING_AFTER_IDLE in record.info:
        record.info[_RETURNED_AT] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle_or_ended(dbapi_connection, record, _proxy) -> None:
    """SQLAlchemy's pool_pre_ping, for a connection that sat unused a while or whose server
    ended it; a connection back from a request a moment ago is handed out as it is.

    A server that shuts down, restarts or ends a backend says so on the socket, or closes it,
    so the socket has something to read: a poll with no wait finds it, with no round trip.
    What the poll cannot see (a server frozen, a network gone quiet) a ping could not cure
    either: it would wait out request_timeout just as the request's first statement now does,
    and the request answers 503 (CONTRACT.md). A failed ping invalidates the pool and the pool
    tries once more with a new connection, as pre_ping does.
    """
    ping = record.info.get(_PING_AFTER_IDLE)
    returned_at = record.info.pop(_RETURNED_AT, None)
    if ping is None or returned_at is None:
        return  # not ours to ping, or just connected (pre_ping skips those too)
    dialect, idle_seconds = ping
    if time.monotonic() - returned_at < idle_seconds and not _has_input(dbapi_connection):
        return
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, dbapi_connection, None):
            raise sa_exc.InvalidatePoolError(f"ping failed: {outage_summary(error)}") from error
        raise


def _has_input(connection: psycopg.Connection) -> bool:
    """True when an idle connection's socket is readable, closed or in error: the server
    spoke (a shutdown's or a termination's notice) or hung up; idle, it has nothing to say."""
    if connection.closed or connection.broken:
        return True
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))
