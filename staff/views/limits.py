"""Keys of the sign-in limits (RATELIMIT_LOGIN per client and per account, CONTRACT.md).

The account is read from the body however it was sent (a form or JSON; any case, spaces round
it), so no format or spelling gets a fresh budget. A browser holding this account's known-device
cookie counts on a budget of its own: a stranger's wrong passwords cannot use up the owner's.
With REDIS_URL set, every worker counts in the same store.
"""

from __future__ import annotations

from flask import current_app, request, session

from staff.auth import account_key
from staff.devices import DEVICE_COOKIE, read_device

PENDING = "staff_pending"  # a sign-in waiting for its two-factor code: {"id", "at", "next"}


def login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def submitted_email() -> object:
    """The "email" of a form or JSON body, as sent (possibly not text at all)."""
    if request.is_json:
        body = request.get_json(silent=True)
        return body.get("email") if isinstance(body, dict) else None
    return request.form.get("email")


def login_account_key() -> str:
    key = account_key(submitted_email())
    device = read_device(request.cookies.get(DEVICE_COOKIE))
    if device is not None and device.get("key") == key:
        return f"account:{key}:device:{device.get('device')}"
    return f"account:{key}"


def pending_account_key() -> str:
    """The code step of a sign-in counts on its account's budget."""
    pending = session.get(PENDING)
    account = pending.get("id") if isinstance(pending, dict) else None
    return f"account-code:{account}"
