"""Day and week buckets of a UTC timestamp column, in SQL, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, cast, func, literal_column

from database import is_postgresql

# Literals rather than bound parameters: PostgreSQL only matches a GROUP BY expression to the
# selected one when both are textually identical, and two bind parameters never are.
_UTC = literal_column("'UTC'")


def day_of(column):
    if is_postgresql():
        return cast(func.timezone(_UTC, column), Date)
    return func.date(column)


def week_of(column):
    """The Monday that starts the ISO week the timestamp falls in."""
    if is_postgresql():
        return cast(func.date_trunc(literal_column("'week'"), func.timezone(_UTC, column)), Date)
    return func.date(column, literal_column("'weekday 0'"), literal_column("'-6 days'"))


def as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())
