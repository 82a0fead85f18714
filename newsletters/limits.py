"""Signup rate limits, shared by the form, the embed and the JSON API (one budget for all three).

Limits are read from the settings at request time, so make_app(RATELIMIT_SIGNUP=...) applies.
"""

from __future__ import annotations

from flask import current_app, request

from addresses import rate_limit_key
from extensions import client_address, limiter


def signup_limit() -> str:
    """Signups per client; checkout and "Manage membership" apply the same figure."""
    return current_app.config["RATELIMIT_SIGNUP"]


def _signup_email_limit() -> str:
    return current_app.config["RATELIMIT_SIGNUP_EMAIL"]


def signup_email_key() -> str:
    """The address being signed up, read without trusting the body (garbage must not raise).

    A body too large still raises 413 here, which is the answer it deserves.
    """
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
