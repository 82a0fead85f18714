"""Signed, salted, expiring tokens for emailed links: one salt per purpose."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALTS = {
    "confirm": "newsletters.confirm.v1",
    "unsubscribe": "newsletters.unsubscribe.v1",
    "preferences": "newsletters.preferences.v1",
    "portal": "membership.portal.v1",
    "data-export": "privacy.data-export.v1",
    "erasure": "privacy.erasure.v1",
}


class TokenExpired(Exception):
    def __init__(self, payload: Any = None):
        super().__init__("link expired")
        self.payload = payload


class TokenInvalid(Exception):
    pass


class ReaderGone(TokenInvalid):
    """A genuine link naming a reader whose data is gone (erased, or purged unconfirmed): the
    reader pages answer 404, as for anything else that no longer exists."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"], SALTS[purpose])


@lru_cache(maxsize=64)
def _serializer_for(secret_key: str | bytes, salt: str) -> URLSafeTimedSerializer:
    """Built once per key and salt (every signup asks for one): a serializer holds no state
    between calls, each dumps or loads makes its own signer, so threads can share it."""
    return URLSafeTimedSerializer(secret_key, salt=salt)


def make_token(purpose: str, payload: Any, signed_at: int | None = None) -> str:
    """A token for `payload`; signed_at (from signing_time()) dates it earlier than now, for a
    link made when its mail is rendered that must expire as if made when it was asked for."""
    serializer = _serializer(purpose)
    if signed_at is None:
        return serializer.dumps(payload)
    signer = serializer.make_signer()
    signer.get_timestamp = lambda: signed_at
    return signer.sign(serializer.dump_payload(payload)).decode("ascii")


def signing_time(purpose: str) -> int:
    """The timestamp a token made now would carry (make_token's signed_at)."""
    return _serializer(purpose).make_signer().get_timestamp()


def token_maker(purpose: str) -> Callable[[Any], str]:
    """make_token(purpose, …) for many payloads in a row (a campaign's readers): the serializer
    and its signer are made once, which halves the cost of each token. Same tokens."""
    serializer = _serializer(purpose)
    signer = serializer.make_signer()
    return lambda payload: signer.sign(serializer.dump_payload(payload)).decode("ascii")


def read_token(purpose: str, token: str, max_age_seconds: int | None = None) -> Any:
    """The payload, or TokenExpired (carrying the payload, to offer a fresh link) / TokenInvalid."""
    serializer = _serializer(purpose)
    try:
        return serializer.loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        payload = None
        if exc.payload is not None:
            try:
                payload = serializer.load_payload(exc.payload)
            except BadSignature:
                payload = None
        raise TokenExpired(payload) from exc
    except BadSignature as exc:
        raise TokenInvalid() from exc


def external_url(path: str) -> str:
    """An absolute link for mail: always BASE_URL, never the request's Host header."""
    return current_app.config["BASE_URL"] + path
