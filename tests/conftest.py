"""Fixtures shared by every feature's tests: an app on a clean database, a real SMTP sink."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from werkzeug.serving import make_server

from app import create_app
from extensions import db, limiter

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
# The SMTP sink logs every connection at INFO from its own thread; those lines would land in
# whatever a CLI test happens to be capturing as the command's output at that moment.
logging.getLogger("mail.log").setLevel(logging.WARNING)
_schema_ready: set[str] = set()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _test_settings(database_url: str, instance_path) -> dict:
    on_sqlite = database_url.startswith("sqlite")
    engine_options = (
        {"connect_args": {"timeout": 30}} if on_sqlite else {"pool_size": 25, "max_overflow": 10}
    )
    return {
        "APP_ENV": "testing",
        "TESTING": True,
        "PROPAGATE_EXCEPTIONS": False,  # answer as production does: a page, not a raise
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "BASE_URL": "http://newsroom.test",
        "SMTP_URL": "memory",
        "MAIL_FROM": "newsletters@newsroom.test",
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "WTF_CSRF_ENABLED": False,
        "EMAIL_CHECK_DELIVERABILITY": False,
        "GOAL_CACHE_SECONDS": 0,
        "LISTS_CACHE_SECONDS": 0,
        "STRIPE_SECRET_KEY": None,
        "STRIPE_WEBHOOK_SECRET": "whsec_test_secret",
        "STRIPE_API_BASE": None,
        "EMBED_ORIGINS": ["https://outlet.example"],
        "MEMBERSHIP_GOAL": 20000,
        "STAFF_FAST_PASSWORD_HASHING": True,  # honoured only with TESTING (staff/auth.py)
    }


def _empty_all_tables() -> None:
    """DELETE rather than TRUNCATE on PostgreSQL too: for tables this small it costs about 10 ms
    where TRUNCATE costs 150-200 ms, and that was most of each test's setup. Ids start at 1
    again, as TRUNCATE … RESTART IDENTITY had them."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    if db.engine.dialect.name == "postgresql":
        sequences = db.session.scalars(
            text("SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = 'public'")
        ).all()
        if sequences:
            restarts = ", ".join(f"setval('{name}', 1, false)" for name in sequences)
            db.session.execute(text(f"SELECT {restarts}"))
    db.session.commit()


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app with extra settings: make_app(RATELIMIT_ENABLED=True)."""
    made = []

    def factory(**overrides):
        settings = _test_settings(database_url, tmp_path)
        settings.update(overrides)
        application = create_app(settings)
        application.instance_path = str(tmp_path / "instance")
        with application.app_context():
            if database_url not in _schema_ready:
                db.drop_all()
                db.create_all()
                _schema_ready.add(database_url)
            if not made:
                _empty_all_tables()
        made.append(application)
        return application

    yield factory
    # Flask-Limiter keeps default and application limits on its global object across apps.
    limiter.limit_manager.set_default_limits([])
    limiter.limit_manager.set_application_limits([])
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def live_server(app):
    """The test app served over real HTTP on a free loopback port; yields its base URL.

    For browsers, and for bodies a test client cannot send (chunked, without Content-Length).
    """
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


REDIS_TEST_DATABASES = range(5, 11)  # make prod-check uses 4, benchmarks 11-15


@pytest.fixture(scope="session")
def redis_database() -> Iterator[str]:
    """A Redis database of this test run's own, on 127.0.0.1:6379 (skips without Redis).

    Two suites run side by side on one machine (SQLite and PostgreSQL, or two checkouts) would
    otherwise flush and count in each other's database: each run claims a free one in db 0
    (the claim expires if the run is killed) and lets it go at the end.
    """
    import redis

    claims = redis.Redis(host="127.0.0.1", port=6379, db=0, socket_connect_timeout=0.5)
    try:
        claims.ping()
    except redis.RedisError:
        pytest.skip("needs Redis on 127.0.0.1:6379 (.ci/run starts one)")
    for number in REDIS_TEST_DATABASES:
        claim = f"newsletters-tests:db{number}"
        if claims.set(claim, os.getpid(), nx=True, ex=3600):
            try:
                yield f"redis://127.0.0.1:6379/{number}"
            finally:
                claims.delete(claim)
                claims.close()
            return
    first, last = REDIS_TEST_DATABASES[0], REDIS_TEST_DATABASES[-1]
    pytest.skip(f"Redis databases {first}-{last} are all claimed by other test runs")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """An SMTP server that keeps what it accepts; `refuse_with` makes it answer an error."""

    def __init__(self) -> None:
        self.envelopes = []
        self.refuse_with: str | None = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_with:
            return self.refuse_with
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self):
        import email
        from email import policy

        with self.lock:
            return [
                email.message_from_bytes(envelope.original_content, policy=policy.default)
                for envelope in self.envelopes
            ]


@pytest.fixture
def smtp_server():
    """A real SMTP conversation on loopback (aiosmtpd); yields (sink, smtp_url)."""
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    try:
        yield sink, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


# PostgreSQL and Redis behind a proxy: the fault tests' and the gevent worker's.
from tests.proxies import postgres_proxy, redis_proxy, redis_url  # noqa: E402, F401

# Stripe's stand-in, signed events and tiers, for every feature's tests.
from tests.stripe_helpers import member_count, stripe_api, stripe_app, tiers  # noqa: E402, F401
