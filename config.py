"""Settings read from the environment, in one place (see ../shared/CONTRACT.md)."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance_path / 'app.db'}"
    # Hosting platforms hand out bare postgres:// URLs; we speak psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _development_secret(instance_path: Path) -> str:
    """A key generated once and kept in instance/, so sessions and links survive restarts."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    return key


def log_level() -> str:
    return os.environ.get("LOG_LEVEL", "INFO").upper()


def load_settings(instance_path: Path) -> dict:
    env = os.environ.get("APP_ENV", "development")
    production = env == "production"
    secret = os.environ.get("SECRET_KEY")
    if not secret:
        if production:
            raise RuntimeError("SECRET_KEY must be set when APP_ENV=production")
        secret = _development_secret(instance_path)
    redis_url = os.environ.get("REDIS_URL") or None
    if production and not redis_url:
        _refuse_or_warn_without_shared_limits()
    database_url = _database_url(instance_path)
    settings = {
        "APP_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SMTP_URL": os.environ.get("SMTP_URL", "console"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "newsletters@localhost"),
        "MAIL_FROM_NAME": os.environ.get("MAIL_FROM_NAME", "The Newsroom"),
        "SITE_NAME": os.environ.get("SITE_NAME", "The Newsroom"),
        # Printed in every campaign's footer (anti-spam laws ask for a postal address).
        "ORG_POSTAL_ADDRESS": os.environ.get(
            "ORG_POSTAL_ADDRESS", "The Newsroom, 1 Example Street"
        ).strip(),
        "REDIS_URL": redis_url,
        # Redis frozen or gone: limiter_storage.py counts in this process's memory meanwhile
        # (never failing a signup), after waiting at most these socket timeouts.
        "RATELIMIT_STORAGE_URI": limiter_storage_uri(redis_url),
        "RATELIMIT_STORAGE_OPTIONS": {
            "socket_connect_timeout": _seconds("REDIS_CONNECT_TIMEOUT", 0.3),
            "socket_timeout": _seconds("REDIS_TIMEOUT", 0.5),
        },
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": False,  # security.py adds Retry-After to 429 answers
        "RATELIMIT_SIGNUP": os.environ.get("RATELIMIT_SIGNUP", "10/minute;100/day"),
        "RATELIMIT_SIGNUP_EMAIL": os.environ.get("RATELIMIT_SIGNUP_EMAIL", "5/hour"),
        "RATELIMIT_LOGIN": os.environ.get("RATELIMIT_LOGIN", "5/minute"),
        "MEMBERSHIP_GOAL": int(os.environ.get("MEMBERSHIP_GOAL", "20000")),
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE") or None,
        "EMBED_ORIGINS": os.environ.get("EMBED_ORIGINS", "").split(),
        "CONFIRM_TTL_HOURS": int(os.environ.get("CONFIRM_TTL_HOURS", "72")),
        "CONFIRMATIONS_PER_DAY": int(os.environ.get("CONFIRMATIONS_PER_DAY", "3")),
        "CONFIRMATION_GAP_SECONDS": int(os.environ.get("CONFIRMATION_GAP_SECONDS", "60")),
        "EMAIL_CHECK_DELIVERABILITY": _bool(
            os.environ.get("EMAIL_CHECK_DELIVERABILITY"), default=production
        ),
        "EMAIL_DNS_TIMEOUT": float(os.environ.get("EMAIL_DNS_TIMEOUT", "3")),
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", "0")),
        # Public bodies are small; the Stripe webhook raises its own limit per request.
        "MAX_CONTENT_LENGTH": 16 * 1024,
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("STAFF_SESSION_SECONDS", "28800")),
        # The staff session ends this long after sign-in whatever its cookie says (staff/views/
        # blueprint.py), so an unchanged cookie is not sent again: re-sent by a background
        # request (the live preview) that answers after a form post, it would put back the
        # session as that request read it, dropping the post's message.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "STAFF_REQUIRE_2FA": _bool(os.environ.get("STAFF_REQUIRE_2FA"), default=False),
        "WTF_CSRF_TIME_LIMIT": 3600 * 8,
        "LISTS_CACHE_SECONDS": float(os.environ.get("LISTS_CACHE_SECONDS", "5")),
        "GOAL_CACHE_SECONDS": float(os.environ.get("GOAL_CACHE_SECONDS", "2")),
        "OUTBOX_MAX_ATTEMPTS": int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "12")),
        # Retention (`maintenance purge`, and once a day `outbox work`): never-confirmed signups,
        # and what finished mail said and to whom, are deleted after this many days.
        "PENDING_RETENTION_DAYS": int(os.environ.get("PENDING_RETENTION_DAYS", "30")),
        "OUTBOX_RETENTION_DAYS": int(os.environ.get("OUTBOX_RETENTION_DAYS", "30")),
        # Links to a reader's data, or to erase it, mailed on request: per reader.
        "RATELIMIT_PRIVACY_LINKS": os.environ.get("RATELIMIT_PRIVACY_LINKS", "5/hour"),
        # Staff uploads of subscriber files (the only route allowed a body this large).
        "IMPORT_UPLOAD_MAX_BYTES": int(os.environ.get("IMPORT_UPLOAD_MAX_MB", "100")) * 2**20,
        "OUTBOX_SMTP_CONNECTIONS": int(os.environ.get("OUTBOX_SMTP_CONNECTIONS", "8")),
        "OUTBOX_RATE_LIMIT": float(os.environ.get("OUTBOX_RATE_LIMIT", "0")),
        "OUTBOX_LEASE_SECONDS": float(os.environ.get("OUTBOX_LEASE_SECONDS", "60")),
        "OUTBOX_RETRY_SECONDS": float(os.environ.get("OUTBOX_RETRY_SECONDS", "30")),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN") or None,
        "LOG_LEVEL": log_level(),
        "SPIKE_MULTIPLE": float(os.environ.get("SPIKE_MULTIPLE", "5")),
        "SPIKE_FLOOR": int(os.environ.get("SPIKE_FLOOR", "50")),
        "TESTING": env == "testing",
    }
    return settings


# Keys of connect_args that database.py reads (each wait's limit), not passed on to libpq.
REQUEST_TIMEOUT_ARG = "deadline_in_request"
COMMAND_TIMEOUT_ARG = "deadline_in_command"
PING_AFTER_IDLE_ARG = "ping_after_idle"

# A pooled connection is pinged before use only when it sat unused longer than this, or when
# its socket has something to read (a server that ended it says so, or closes it): database.py.
# Under load a connection comes back within milliseconds, and a ping on every checkout was one
# of a new signup's two round trips; after a quiet spell a firewall may have dropped it
# silently, and then the ping finds out before the request's statement does.
# Not a setting: CONTRACT.md names none, and no deployment has a reason to tune it.
PING_AFTER_IDLE_SECONDS = 1.0


# Redis over TCP, TLS or a Unix socket (redis-py's own `unix://` spelling included).
_REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://")
# Storages already chosen: this process's memory, or one of the above through the fallback.
_CHOSEN_STORAGES = ("memory://",) + tuple("fallback+" + scheme for scheme in _REDIS_SCHEMES)


def limiter_storage_uri(redis_url: str | None) -> str:
    """Redis through limiter_storage.py's fallback, or this process's memory without one.

    Any other storage is refused at start: only the fallback keeps signups answered (counted in
    memory) when the storage fails; another one would answer 500 to every limited request.
    """
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        redis_url = "redis+" + redis_url
    if redis_url.startswith(_REDIS_SCHEMES):
        return "fallback+" + redis_url
    if redis_url.startswith(_CHOSEN_STORAGES):
        return redis_url
    scheme = redis_url.partition("://")[0] if "://" in redis_url else "no scheme"
    raise RuntimeError(  # the URL itself may hold a password: only its scheme is named
        f"REDIS_URL must be a Redis URL (redis://, rediss:// or unix://), not {scheme!r}"
    )


def _refuse_or_warn_without_shared_limits() -> None:
    """Without Redis each worker process counts on its own: with gunicorn's two workers a
    5-a-minute login limit lets 10 through. Refuse, unless the deployment says it runs one
    process (RATELIMIT_ALLOW_MEMORY=1), and then say it loudly at every start."""
    if not _bool(os.environ.get("RATELIMIT_ALLOW_MEMORY"), default=False):
        raise RuntimeError(
            "REDIS_URL must be set when APP_ENV=production: rate limits (signups, staff "
            "login) must be shared by every worker process. A deployment with exactly one "
            "process may set RATELIMIT_ALLOW_MEMORY=1 instead."
        )
    log.warning(
        "REDIS_URL is not set: rate limits are counted in each process's memory "
        "(RATELIMIT_ALLOW_MEMORY=1); with N worker processes every limit allows N times as much"
    )


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    return postgresql_engine_options(
        pool_size=int(os.environ.get("DB_POOL_SIZE", "10")),
        pool_timeout=_seconds("DB_POOL_TIMEOUT", 1),
        connect_timeout=_seconds("DB_CONNECT_TIMEOUT", 2),
        request_timeout=_seconds("DB_REQUEST_TIMEOUT", 2),
        statement_timeout=_seconds("DB_STATEMENT_TIMEOUT", 30),
        idle_in_transaction_timeout=_seconds("DB_IDLE_IN_TRANSACTION_TIMEOUT", 60),
    )


def postgresql_engine_options(
    *,
    pool_size: int = 10,
    pool_timeout: float = 1,
    connect_timeout: float = 2,
    request_timeout: float = 2,
    statement_timeout: float = 30,
    idle_in_transaction_timeout: float = 60,
) -> dict:
    """How the app waits on PostgreSQL, so an outage answers 503 within 5 s (CONTRACT.md).

    A request that finds the database frozen waits at most request_timeout on a pooled
    connection (its ping, or its first statement when the connection was in use a moment
    ago), then connect_timeout for a new one (libpq's minimum is 2 s), or pool_timeout for a
    free one. Outside requests (the outbox worker, the CLI) a wait ends 10 s after
    statement_timeout, when the server should have cancelled the statement itself.
    """
    server_settings = {
        "statement_timeout": int(statement_timeout * 1000),
        "idle_in_transaction_session_timeout": int(idle_in_transaction_timeout * 1000),
    }
    return {
        # A threaded worker needs a connection per thread: with fewer, the pool opens and
        # closes connections under load. Size the pool to match.
        "pool_size": pool_size,
        "pool_timeout": pool_timeout,
        # Pinged only when idle or ended (PING_AFTER_IDLE_SECONDS), not on every checkout.
        "pool_pre_ping": False,
        "connect_args": {
            "connect_timeout": max(2, round(connect_timeout)),
            "options": " ".join(f"-c {name}={value}" for name, value in server_settings.items()),
            # A server that vanished without closing (power, network) is noticed in ~20 s.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 2,
            REQUEST_TIMEOUT_ARG: request_timeout,
            COMMAND_TIMEOUT_ARG: statement_timeout + 10 if statement_timeout > 0 else None,
            PING_AFTER_IDLE_ARG: PING_AFTER_IDLE_SECONDS,
        },
    }
