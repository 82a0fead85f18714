"""Signup rate limits, shared by the form, the embed and the JSON API (one budget for all three).

Limits are read from the settings at request time, so make_app(RATELIMIT_SIGNUP=...) applies.
"""

from __future__ import annotations

from functools import lru_cache, wraps

from flask import current_app, request
from limits import RateLimitItem, parse_many

from addresses import rate_limit_key
from extensions import client_address, limiter
from limiter_storage import FallbackRedisStorage


def signup_limit() -> str:
    """Signups per client; checkout and "Manage membership" apply the same figure."""
    return current_app.config["RATELIMIT_SIGNUP"]


def _signup_email_limit() -> str:
    return current_app.config["RATELIMIT_SIGNUP_EMAIL"]


_EMAIL_KEY = "newsletters.signup_email_key"  # kept with the request (g outlives it in tests)


def signup_email_key() -> str:
    """The address being signed up, read without trusting the body (garbage must not raise).

    A body too large still raises 413 here, which is the answer it deserves. Worked out once
    per request: the limits ask for it more than once.
    """
    key = request.environ.get(_EMAIL_KEY)
    if key is None:
        key = request.environ[_EMAIL_KEY] = _signup_email_key()
    return key


def _signup_email_key() -> str:
    email = None
    if request.is_json:
        data = request.get_json(silent=True)
        if isinstance(data, dict):
            email = data.get("email")
    else:
        email = request.form.get("email")
    key = rate_limit_key(email) if isinstance(email, str) else None
    if key:
        return "email:" + key
    return "no-email:" + client_address()


signup_per_client = limiter.shared_limit(
    signup_limit, scope="signup-client", key_func=client_address, methods=["POST"]
)
signup_per_email = limiter.shared_limit(
    _signup_email_limit, scope="signup-email", key_func=signup_email_key, methods=["POST"]
)


@lru_cache(maxsize=32)
def _items(limits: str) -> list[RateLimitItem]:
    return sorted(parse_many(limits))  # the order in which Flask-Limiter checks them


def _planned_hits() -> list[tuple[str, int, int, int]]:
    """The counters signup_per_client then signup_per_email will hit, keyed as they key them."""
    prefix = [current_app.config.get("RATELIMIT_KEY_PREFIX") or ""]
    prefix = [value for value in prefix if value]
    hits = []
    for limits, key, scope in (
        (signup_limit(), client_address(), "signup-client"),
        (_signup_email_limit(), signup_email_key(), "signup-email"),
    ):
        for item in _items(limits):
            hits.append((item.key_for(*prefix, key, scope), item.get_expiry(), 1, item.amount))
    return hits


def signup_limits(view):
    """Both signup limits (per client, per address), counted in one round trip to Redis.

    The limits and answers are Flask-Limiter's (signup_per_client, signup_per_email); their
    counters are hit beforehand in one script (limiter_storage.hit_in_order), in the order
    Flask-Limiter checks them, which hands each check its count.
    """
    limited = signup_per_client(signup_per_email(view))

    @wraps(view)
    def counted_at_once(*args, **kwargs):
        storage = limiter.storage if limiter.enabled else None
        if request.method != "POST" or not isinstance(storage, FallbackRedisStorage):
            return limited(*args, **kwargs)
        storage.hit_in_order(_planned_hits())
        try:
            return limited(*args, **kwargs)
        finally:
            storage.forget_hits()

    return counted_at_once
