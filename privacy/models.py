"""The erasure register: proof that a reader's data was erased, without the data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from database import UTCDateTime, utcnow
from extensions import db

BY_READER = "reader"
BY_STAFF = "staff"


class Erasure(db.Model):
    """One row per erasure. The address is not here: its keyed hash's first characters are,
    so an operator asked "did you erase X?" can hash X and look (the suppression list holds
    the whole hash, which keeps X from every import and campaign)."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    subscriber_id: Mapped[int] = mapped_column(BigInteger)  # the id the reader's links named
    address_hash_prefix: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[str] = mapped_column(String(16))  # reader, or staff (see audit_log)
    removed: Mapped[dict] = mapped_column(JSON, default=dict)  # rows removed, by kind
