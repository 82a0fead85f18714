"""The suppression list: addresses that get no list mail, kept by a keyed hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from database import UTCDateTime, utcnow
from extensions import db

BOUNCE = "bounce"  # a delivery report said the mailbox does not exist (5.x.x)
COMPLAINT = "complaint"  # the reader marked a message as spam (an abuse report)
MANUAL = "manual"  # an operator added it
REFUSED = "refused"  # the receiving server refused the recipient with a 5xx when we sent
IMPORT_UNSUBSCRIBED = "import-unsubscribed"  # listed as unsubscribed in an imported export
IMPORT_CLEANED = "import-cleaned"  # listed as cleaned (bouncing) in an imported export
ERASED = "erased"  # the reader erased their data: only the hash is left

REASONS = (BOUNCE, COMPLAINT, MANUAL, REFUSED, IMPORT_UNSUBSCRIBED, IMPORT_CLEANED, ERASED)


class Suppression(db.Model):
    __tablename__ = "suppressions"
    __table_args__ = (
        Index("ix_suppressions_created", "created_at"),
        Index("ix_suppressions_address_key", "address_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # HMAC-SHA256 (hex) of the lower-cased normalised address: the lookup key, and all that an
    # erased reader leaves behind.
    address_hash: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    # addresses.email_key(address): lets SQL match subscribers.email_key (queue_for_recipients);
    # NULL once erased, like the address.
    address_key: Mapped[str | None] = mapped_column(String(320), nullable=True)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
