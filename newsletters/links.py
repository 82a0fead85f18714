"""Signed links in mail: what each token carries and how it is read back.

confirm      {"s": subscriber id, "l": [list slugs], "c": consent id};
             expires after CONFIRM_TTL_HOURS
unsubscribe  {"s": subscriber id, "l": [list slugs] or None for every list}, never expires
             (a reader must always be able to leave, RFC 8058 and the law)
preferences  {"s": subscriber id}, never expires: it sits in every list mail, and joining a list
             through it without a fresh confirmation needs an already confirmed list (services)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import current_app

from database import MAX_DATABASE_ID, SLUG_PATTERN
from signing import TokenInvalid, external_url, make_token, read_token, token_maker


@dataclass(frozen=True)
class ConfirmClaim:
    subscriber_id: int
    slugs: tuple[str, ...]
    consent_id: int | None


@dataclass(frozen=True)
class UnsubscribeClaim:
    subscriber_id: int
    slugs: tuple[str, ...] | None  # None: every list


def _is_id(value: Any) -> bool:
    """An id our columns can hold: a token we signed long ago must not fail in the database."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_DATABASE_ID


def _subscriber_id(payload: Any) -> int:
    if not isinstance(payload, dict) or not _is_id(payload.get("s")):
        raise TokenInvalid()
    return payload["s"]


def _slugs(payload: dict) -> tuple[str, ...] | None:
    slugs = payload.get("l")
    if slugs is None:
        return None
    if not isinstance(slugs, list) or not all(
        isinstance(slug, str) and re.fullmatch(SLUG_PATTERN, slug) for slug in slugs
    ):
        raise TokenInvalid()
    return tuple(slugs)


def confirm_url(
    subscriber_id: int, slugs: list[str], consent_id: int | None, signed_at: int | None = None
) -> str:
    claim = {"s": subscriber_id, "l": list(slugs), "c": consent_id}
    token = make_token("confirm", claim, signed_at)
    return external_url(f"/confirm/{token}")


def confirm_claim(payload: Any) -> ConfirmClaim:
    subscriber_id = _subscriber_id(payload)
    slugs = _slugs(payload)
    consent_id = payload.get("c")
    if slugs is None or (consent_id is not None and not _is_id(consent_id)):
        raise TokenInvalid()
    return ConfirmClaim(subscriber_id, slugs, consent_id)


def read_confirm_token(token: str) -> ConfirmClaim:
    """The claim, or TokenExpired (with the payload, to offer a fresh link) / TokenInvalid."""
    max_age = int(current_app.config["CONFIRM_TTL_HOURS"]) * 3600
    return confirm_claim(read_token("confirm", token, max_age))


def read_expired_confirm_token(token: str) -> ConfirmClaim:
    """A confirm link's claim whatever its age, for a fresh link: the signature must hold."""
    return confirm_claim(read_token("confirm", token, None))


def _unsubscribe_claim(subscriber_id: int, slugs: list[str] | None) -> dict:
    return {"s": subscriber_id, "l": slugs}


def _preferences_claim(subscriber_id: int) -> dict:
    return {"s": subscriber_id}


def unsubscribe_token(subscriber_id: int, slugs: list[str] | None) -> str:
    return make_token("unsubscribe", _unsubscribe_claim(subscriber_id, slugs))


def unsubscribe_url(subscriber_id: int, slugs: list[str] | None) -> str:
    token = unsubscribe_token(subscriber_id, slugs)
    return external_url(f"/unsubscribe/{token}")


def read_unsubscribe_token(token: str) -> UnsubscribeClaim:
    payload = read_token("unsubscribe", token)
    return UnsubscribeClaim(_subscriber_id(payload), _slugs(payload))


def preferences_token(subscriber_id: int) -> str:
    return make_token("preferences", _preferences_claim(subscriber_id))


def preferences_path(subscriber_id: int) -> str:
    return f"/preferences/{preferences_token(subscriber_id)}"


def preferences_url(subscriber_id: int) -> str:
    return external_url(preferences_path(subscriber_id))


def read_preferences_token(token: str) -> int:
    return _subscriber_id(read_token("preferences", token))


class ReaderLinks:
    """unsubscribe_url() and preferences_url() for many readers in a row (a batch of campaign
    mail), each signer made once rather than once per link."""

    def __init__(self) -> None:
        self._unsubscribe = token_maker("unsubscribe")
        self._preferences = token_maker("preferences")

    def unsubscribe_url(self, subscriber_id: int, slugs: list[str] | None) -> str:
        token = self._unsubscribe(_unsubscribe_claim(subscriber_id, slugs))
        return external_url(f"/unsubscribe/{token}")

    def preferences_url(self, subscriber_id: int) -> str:
        token = self._preferences(_preferences_claim(subscriber_id))
        return external_url(f"/preferences/{token}")
