"""Signed links into staff accounts (invitation, password reset, unlock) and the known-device
cookie: one salt per purpose.

Built like signing.py and raising its exceptions, so the salts below can later join
signing.SALTS. The one addition is `now`: the time the token is made or read as of, so expiry
can be checked (and tested) at any moment rather than only at the wall clock's.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from signing import TokenExpired, TokenInvalid

STAFF_SALTS = {
    "staff-invite": "staff.invite.v1",
    "staff-reset": "staff.reset.v1",
    "staff-unlock": "staff.unlock.v1",
    "staff-device": "staff.device.v1",
}


class _SignerAtTime(TimestampSigner):
    """itsdangerous' signer with its clock set to `now` (the wall clock when None)."""

    def __init__(self, *args: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._now = now

    def get_timestamp(self) -> int:
        return int(time.time() if self._now is None else self._now.timestamp())


def _serializer(purpose: str, now: datetime | None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"],
        salt=STAFF_SALTS[purpose],
        signer=_SignerAtTime,
        signer_kwargs={"now": now},
    )


def make_staff_token(purpose: str, payload: Any, now: datetime | None = None) -> str:
    return _serializer(purpose, now).dumps(payload)


def read_staff_token(
    purpose: str, token: str, max_age_seconds: int, now: datetime | None = None
) -> Any:
    """The payload, or TokenExpired / TokenInvalid as signing.read_token raises them.

    An expired staff link carries no payload on: its page only offers to ask for a new one.
    """
    try:
        return _serializer(purpose, now).loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        raise TokenExpired() from exc
    except BadSignature as exc:
        raise TokenInvalid() from exc
