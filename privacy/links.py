"""Links mailed to a reader who asked for their data or its erasure: valid for 24 hours.

data-export  {"s": subscriber id}: GET downloads the reader's data as one JSON file
erasure      {"s": subscriber id}: GET shows a page with a button; its POST erases

They go by mail, never on a page: a preferences link in a forwarded newsletter must not hand
over the data or delete it. Once the reader is erased, both (like all their links) answer 404.
"""

from __future__ import annotations

from typing import Any

from database import MAX_DATABASE_ID
from signing import TokenInvalid, external_url, make_token, read_token

LINK_HOURS = 24
EXPORT, ERASURE = "data-export", "erasure"


def _subscriber_id(payload: Any) -> int:
    """The reader's id, if it is one our columns can hold (never a database error)."""
    subscriber_id = payload.get("s") if isinstance(payload, dict) else None
    if not isinstance(subscriber_id, int) or isinstance(subscriber_id, bool):
        raise TokenInvalid()
    if not 0 < subscriber_id <= MAX_DATABASE_ID:
        raise TokenInvalid()
    return subscriber_id


def export_url(subscriber_id: int) -> str:
    return external_url(f"/privacy/data/{make_token(EXPORT, {'s': subscriber_id})}")


def erasure_url(subscriber_id: int) -> str:
    return external_url(f"/privacy/erase/{make_token(ERASURE, {'s': subscriber_id})}")


def read_export_token(token: str) -> int:
    return _subscriber_id(read_token(EXPORT, token, LINK_HOURS * 3600))


def read_erasure_token(token: str) -> int:
    return _subscriber_id(read_token(ERASURE, token, LINK_HOURS * 3600))
