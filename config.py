"""Settings read from the environment, in one place (see ../shared/CONTRACT.md)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


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


def load_settings(instance_path: Path) -> dict:
    env = os.environ.get("APP_ENV", "development")
    production = env == "production"
    secret = os.environ.get("SECRET_KEY")
    if not secret:
        if production:
            raise RuntimeError("SECRET_KEY must be set when APP_ENV=production")
        secret = _development_secret(instance_path)
    redis_url = os.environ.get("REDIS_URL")
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
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Redis down or restarting: limit in this process's memory meanwhile, never fail signups.
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
        "STAFF_REQUIRE_2FA": _bool(os.environ.get("STAFF_REQUIRE_2FA"), default=False),
        "WTF_CSRF_TIME_LIMIT": 3600 * 8,
        "LISTS_CACHE_SECONDS": float(os.environ.get("LISTS_CACHE_SECONDS", "5")),
        "GOAL_CACHE_SECONDS": float(os.environ.get("GOAL_CACHE_SECONDS", "2")),
        "OUTBOX_MAX_ATTEMPTS": int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "12")),
        "OUTBOX_SMTP_CONNECTIONS": int(os.environ.get("OUTBOX_SMTP_CONNECTIONS", "8")),
        "OUTBOX_RATE_LIMIT": float(os.environ.get("OUTBOX_RATE_LIMIT", "0")),
        "OUTBOX_LEASE_SECONDS": float(os.environ.get("OUTBOX_LEASE_SECONDS", "60")),
        "OUTBOX_RETRY_SECONDS": float(os.environ.get("OUTBOX_RETRY_SECONDS", "30")),
        "TESTING": env == "testing",
    }
    return settings


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    # A threaded worker needs a connection per thread: with fewer, the pool opens and closes
    # connections under load. Size the pool to match.
    return {"pool_size": int(os.environ.get("DB_POOL_SIZE", "10")), "pool_pre_ping": True}
