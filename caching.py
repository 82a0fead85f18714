"""A value kept a few seconds per process: the one helper behind every per-process cache.

Figures that many requests need and that rarely change (the members goal, the open lists) are
computed at most once per TTL in each process. A change made in this process clears the value
when its transaction commits (clear_after_commit), so this process answers fresh at once;
other processes see the change within the TTL.

While the database is unreachable, the last value (up to STALE_AT_MOST_SECONDS old) is served
instead of an error, and the database is asked again only every OUTAGE_RETRY_SECONDS: readers
still see the front page, and a frozen database costs one slow request per interval, not all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from database import is_database_outage
from extensions import db

T = TypeVar("T")
_PENDING = "caches_to_clear_after_commit"
STALE_AT_MOST_SECONDS = 600
OUTAGE_RETRY_SECONDS = 5


class TTLCache(Generic[T]):
    """One value per process, for `ttl_setting` seconds (a setting, so tests can turn it off).

    The value belongs to one app and database: a second app in the same process (tests, the
    CLI beside a server) never reads another's figures.
    """

    def __init__(self, ttl_setting: str, default_ttl: float) -> None:
        self.ttl_setting = ttl_setting
        self.default_ttl = default_ttl
        self._lock = threading.Lock()
        self._key: object = None
        self._value: T | None = None
        self._expires = 0.0
        self._computed_at = 0.0
        self._generation = 0  # bumped by clear(): a value computed before it is not stored

    def get(self, compute: Callable[[], T]) -> T:
        app = current_app._get_current_object()
        key = (id(app), app.config["SQLALCHEMY_DATABASE_URI"])
        now = time.monotonic()
        with self._lock:
            if self._key == key and now < self._expires:
                return self._value  # type: ignore[return-value]
            generation = self._generation
        try:
            value = compute()
        except Exception as error:
            if not is_database_outage(error):
                raise
            return self._stale_or_raise(key, now, error)
        ttl = float(app.config.get(self.ttl_setting, self.default_ttl))
        with self._lock:
            if generation == self._generation:
                self._key, self._value, self._expires = key, value, now + ttl
                self._computed_at = now
        return value

    def _stale_or_raise(self, key: object, now: float, error: Exception) -> T:
        with self._lock:
            if self._key != key or now - self._computed_at > STALE_AT_MOST_SECONDS:
                raise error
            self._expires = now + OUTAGE_RETRY_SECONDS
            value = self._value
        db.session.rollback()  # the failed transaction must end before the session is used again
        return value  # type: ignore[return-value]

    @property
    def generation(self) -> int:
        """Changes whenever the value is cleared: a copy made from an older value is stale."""
        return self._generation

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._key, self._value, self._expires = None, None, 0.0

    def clear_after_commit(self) -> None:
        """Clear once the current transaction commits (a rollback leaves the value as it was)."""
        db.session.info.setdefault(_PENDING, set()).add(self)


@event.listens_for(Session, "after_commit")
def _clear_after_commit(session: Session) -> None:
    for cache in session.info.pop(_PENDING, ()):
        cache.clear()


@event.listens_for(Session, "after_rollback")
def _keep_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
