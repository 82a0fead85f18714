"""Known devices: a signed, long-lived cookie set where an account signed in (or was unlocked
from its mailed link). It lets that browser past the account's sign-in back-off, so someone
typing wrong passwords elsewhere cannot lock the owner out. It never replaces the password.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from signing import TokenExpired, TokenInvalid
from staff.link_tokens import make_staff_token, read_staff_token

DEVICE_COOKIE = "staff_device"
DEVICE_VALID_FOR = timedelta(days=180)


def device_token(account_id: int, account_key: str) -> str:
    payload = {"account": account_id, "key": account_key, "device": secrets.token_urlsafe(12)}
    return make_staff_token("staff-device", payload)


def read_device(token: str | None) -> dict | None:
    """{"account", "key", "device"} for a cookie we signed within DEVICE_VALID_FOR, else None."""
    if not token or len(token) > 1024:
        return None
    try:
        payload = read_staff_token("staff-device", token, int(DEVICE_VALID_FOR.total_seconds()))
    except (TokenExpired, TokenInvalid):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("account"), int):
        return None
    return payload


def device_knows(device: dict | None, account_id: int) -> bool:
    return device is not None and device.get("account") == account_id
