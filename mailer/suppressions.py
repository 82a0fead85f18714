"""The suppression list: who gets no list mail, whoever asks (bounce, complaint, operator, erasure).

An address is found by a keyed hash of its lower-cased normalised form, never by the address
itself, so that an erased reader can stay suppressed with nothing readable left behind.
The key is SECRET_KEY: rotating it makes every stored hash unfindable, so a rotation must
re-hash the rows that still have an address (erased ones are then lost).

These functions write in the caller's transaction and never commit.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import String, any_, bindparam, delete, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY

from addresses import InvalidEmail, email_key
from database import is_postgresql, upsert, utcnow
from extensions import db
from mailer.suppression_models import ERASED, REASONS, Suppression

# Keeps each IN (...) well under SQLite's and PostgreSQL's limits on bound parameters.
LOOKUP_CHUNK = 5000


@dataclass(frozen=True)
class SuppressionEntry:
    address: str | None  # None once the reader erased their data
    address_hash: str
    reason: str
    detail: str
    created_at: datetime


@dataclass(frozen=True)
class SuppressionPage:
    entries: list[SuppressionEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def normalised_address(raw: str) -> str:
    """The address as email-validator writes it (syntax only, never DNS), or InvalidEmail.

    A punycode domain and its Unicode spelling come out the same, so a bounce that names the
    ASCII form finds the reader who signed up with the Unicode one.
    """
    if not isinstance(raw, str):
        raise InvalidEmail("not a string")
    try:
        info = validate_email(raw.strip(), check_deliverability=False, allow_display_name=False)
    except EmailNotValidError as error:
        raise InvalidEmail(str(error)) from error
    return info.normalized


def address_hash(raw: str) -> str:
    """HMAC-SHA256 of the lower-cased normalised address, keyed with SECRET_KEY (hex)."""
    return _hash_of_normalised(normalised_address(raw))


def _hash_of_normalised(normalised: str) -> str:
    key = current_app.config["SECRET_KEY"]
    key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    message = email_key(normalised).encode("utf-8")
    return hmac.new(key_bytes, message, hashlib.sha256).hexdigest()


def suppress(address: str, reason: str, detail: str = "") -> bool:
    """Suppress an address; True if it was not already. Idempotent, safe under concurrency.

    An address already suppressed keeps its first reason and detail, and an erased one stays
    a bare hash. Raises InvalidEmail for something that is not an address.
    """
    if reason not in REASONS or reason == ERASED:
        raise ValueError(f"unknown suppression reason: {reason!r}")
    normalised = normalised_address(address)
    statement = (
        upsert(Suppression.__table__)
        .values(
            address_hash=_hash_of_normalised(normalised),
            address=normalised,
            address_key=email_key(normalised),
            reason=reason,
            detail=detail,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["address_hash"])
        .returning(Suppression.id)  # a row only when this call inserted it
    )
    return db.session.execute(statement).first() is not None


def suppress_hash_only(address: str) -> None:
    """Keep the address suppressed after an erasure, as its hash alone.

    A row that already exists loses its address and detail (which may quote the address).
    """
    statement = upsert(Suppression.__table__).values(
        address_hash=address_hash(address),
        address=None,
        address_key=None,
        reason=ERASED,
        detail="",
        created_at=utcnow(),
    )
    statement = statement.on_conflict_do_update(
        index_elements=["address_hash"],
        set_={"address": None, "address_key": None, "reason": ERASED, "detail": ""},
    )
    db.session.execute(statement)


def unsuppress(address: str) -> bool:
    """Lift a suppression; False if the address was not suppressed."""
    statement = (
        delete(Suppression)
        .where(Suppression.address_hash == address_hash(address))
        .returning(Suppression.id)
    )
    return db.session.execute(statement).first() is not None


def is_suppressed(address: str) -> bool:
    """Whether list mail to this address must not go; something that is no address is not."""
    return bool(suppressed_among([address]))


def suppression_for(address: str) -> SuppressionEntry | None:
    statement = select(Suppression).where(Suppression.address_hash == address_hash(address))
    row = db.session.scalars(statement).first()
    return _entry(row) if row else None


def suppressed_among(addresses: Iterable[str], *, already_normalised: bool = False) -> set[str]:
    """The given addresses (spelt as given) that are suppressed: one query per 5,000.

    `already_normalised` skips validating each address (about 20 µs each) for addresses read
    from our own tables, which were stored as normalised_address() writes them.
    """
    by_hash: dict[str, list[str]] = {}
    for address in addresses:
        try:
            hashed = _hash_of_normalised(address) if already_normalised else address_hash(address)
        except InvalidEmail:
            continue
        by_hash.setdefault(hashed, []).append(address)
    hashes = list(by_hash)
    column = Suppression.__table__.c.address_hash
    if is_postgresql():  # one array parameter: one cached statement, whatever the count
        among = column == any_(bindparam("hashes", type_=ARRAY(String)))
    else:
        among = column.in_(bindparam("hashes", expanding=True))
    statement = select(column).where(among)
    found: set[str] = set()
    connection = db.session.connection()  # Core, without the ORM's per-statement work
    for start in range(0, len(hashes), LOOKUP_CHUNK):
        chunk = hashes[start : start + LOOKUP_CHUNK]
        for hashed in connection.execute(statement, {"hashes": chunk}).scalars():
            found.update(by_hash[hashed])
    return found


def list_suppressions(
    page: int = 1, per_page: int = 50, reason: str | None = None
) -> SuppressionPage:
    """Newest first; `reason` keeps only that reason."""
    page = max(1, page)
    per_page = max(1, min(per_page, 1000))
    condition = Suppression.reason == reason if reason else true()
    total = db.session.scalar(select(func.count()).select_from(Suppression).where(condition))
    rows = db.session.scalars(
        select(Suppression)
        .where(condition)
        .order_by(Suppression.created_at.desc(), Suppression.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return SuppressionPage([_entry(row) for row in rows], total or 0, page, per_page)


def _entry(row: Suppression) -> SuppressionEntry:
    return SuppressionEntry(row.address, row.address_hash, row.reason, row.detail, row.created_at)
