"""A campaign: one issue of a newsletter, from its draft to the last message sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from database import UTCDateTime, utcnow
from extensions import db

DRAFT = "draft"
SCHEDULED = "scheduled"  # waits for scheduled_at; recipients are fixed when it comes
SENDING = "sending"  # recipients fixed and queued in the outbox
PAUSED = "paused"  # its queued messages are held until staff resume it
SENT = "sent"  # every message is done (sent, failed or skipped); it is in the archive
CANCELLED = "cancelled"  # what was not yet sent never goes
STATUSES = (DRAFT, SCHEDULED, SENDING, PAUSED, SENT, CANCELLED)

# Statuses in which sending has been asked for: asking again changes nothing.
UNDER_WAY = (SCHEDULED, SENDING, PAUSED)

MAX_SUBJECT = 200


class Campaign(db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (
        Index("ix_campaigns_newsletter_status", "newsletter_id", "status"),
        Index("ix_campaigns_status_scheduled", "status", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletters.id"))
    subject: Mapped[str] = mapped_column(String(MAX_SUBJECT))
    body_markdown: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # How many readers it was queued for when sending started (None before).
    recipients: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Who wrote it: a staff member's address, or "command line". Text, not a key into the staff
    # table: campaigns sit below staff, and the audit log keeps the staff id of every action.
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
