"""GET /readyz: can this process reach its database and Redis right now?

Each check has its own short-lived connection with short timeouts, never the request pool's:
a pool waiting 30 s for a connection, or a connection stuck on a frozen server, must not hold
up the answer. Both checks run at once and each is given CHECK_SECONDS at most (see bounded.py),
so /readyz answers within about CHECK_SECONDS whatever the servers do (the contract: 3 s).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis
from flask import Flask, current_app
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from operations.bounded import BoundedCall

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0
CONNECT_TIMEOUT_SECONDS = 2
OK = "ok"
UNAVAILABLE = "unavailable"
NOT_CONFIGURED = "not configured"


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return UNAVAILABLE not in self.checks.values()

    def as_json(self) -> dict:
        return {"status": OK if self.ready else UNAVAILABLE, "checks": self.checks}


def check_engine(database_url: str) -> Engine:
    """An engine of its own for checks: no pool, short connect and statement timeouts."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        timeout_ms = int(CHECK_SECONDS * 1000)
        connect_args = {
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "options": f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms}",
        }
    else:
        connect_args = {"timeout": CHECK_SECONDS}
    return create_engine(url, poolclass=NullPool, connect_args=connect_args)


class ReadinessChecks:
    """The checks of one app, kept on it (app.extensions) so each hung check runs only once."""

    def __init__(self, app: Flask) -> None:
        self.engine = check_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        redis_url = app.config.get("REDIS_URL")
        self.redis = (
            redis.Redis.from_url(
                redis_url.replace("redis+unix://", "unix://", 1),  # limits' spelling, redis-py's
                socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
                socket_timeout=CHECK_SECONDS,
            )
            if redis_url
            else None
        )
        self.database_check = BoundedCall("database-check", self._ping_database)
        self.redis_check = BoundedCall("redis-check", self._ping_redis)

    def _ping_database(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def _ping_redis(self) -> None:
        self.redis.ping()

    def run(self) -> Readiness:
        checks = {"database": self.database_check}
        if self.redis is not None:
            checks["redis"] = self.redis_check
        # Every check starts before any is waited on, so their waits overlap.
        runs = {name: check.start() for name, check in checks.items()}
        deadline = time.monotonic() + CHECK_SECONDS
        outcomes = {
            name: _outcome(name, checks[name], run, deadline - time.monotonic())
            for name, run in runs.items()
        }
        outcomes.setdefault("redis", NOT_CONFIGURED)
        return Readiness(outcomes)


def _outcome(name: str, check: BoundedCall, run, seconds: float) -> str:
    try:
        check.wait(run, seconds)
    except Exception as error:  # any failure is "unavailable"; the log says which
        log.warning("readiness check %s failed: %s", name, first_line(error))
        return UNAVAILABLE
    return OK


def first_line(error: Exception) -> str:
    message = str(error).strip()
    return message.splitlines()[0] if message else type(error).__name__


def readiness() -> Readiness:
    app = current_app._get_current_object()
    checks = app.extensions.get("operations.readiness")
    if checks is None:
        checks = app.extensions["operations.readiness"] = ReadinessChecks(app)
    return checks.run()
