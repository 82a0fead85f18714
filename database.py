"""Column types and statements that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from sqlalchemy import DateTime, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.types import TypeDecorator

from extensions import db

MAX_DATABASE_ID = 2**63 - 1  # BIGINT; larger numbers overflow in the driver
# A slug column (lists, tiers): String(64), safe in URLs, forms and mail headers as it is.
SLUG_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"


def database_id(text: str) -> int:
    """A query-string id for request.args.get(..., type=database_id); out of range is None."""
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
    """Run `work` and commit; a unique-index race or a busy SQLite lock runs it again whole.

    `work` must only touch the database, so that running it again after a rollback is safe.
    """
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            db.session.commit()
            return result
        except (IntegrityError, OperationalError):
            db.session.rollback()
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")
