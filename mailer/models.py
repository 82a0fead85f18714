"""The outbox: every message is a row written in the transaction that caused it.

A row holds what to send and to whom (kind, to_addr, context, language), not the message
itself: the worker renders it when it sends (mailer/rendering.py). Rows queued before
revision 0003 carry their rendered subject and bodies, and are sent as stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from database import UTCDateTime, utcnow
from extensions import db

QUEUED = "queued"
SENT = "sent"
FAILED = "failed"  # gave up after OUTBOX_MAX_ATTEMPTS or a permanent (5xx) refusal
SUPPRESSED = "suppressed"  # skipped at send time: unsubscribed or suppressed since it was queued
HELD = "held"  # its campaign is paused; release_campaign() queues it again
CANCELLED = "cancelled"  # its campaign was cancelled before it went

STATUSES = (QUEUED, SENT, FAILED, SUPPRESSED, HELD, CANCELLED)


class OutboxMessage(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # Bounces, a reader's data and erasure find rows by address, however it was spelt.
        Index("ix_outbox_address_key", func.lower(text("to_addr"))),
        # One message per reader per campaign, however often sending is started; NULLs (all
        # transactional mail) never conflict.
        UniqueConstraint("campaign_id", "subscriber_id", name="uq_outbox_campaign_recipient"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))  # template name (confirm, welcome, …) or campaign
    to_addr: Mapped[str] = mapped_column(String(320))
    # The template's values (JSON); a campaign's rows leave it empty: the campaign has them.
    context: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    campaign_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    subscriber_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A 5xx refusal when sent, or a delivery report naming it afterwards.
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Rendered at queue time by releases before 0003; NULL for everything queued since.
    subject: Mapped[str | None] = mapped_column(Text, nullable=True)
    text_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    html_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    headers: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)


class DailyJob(db.Model):
    """One row per job registered with register_daily_job: the day it last ran (UTC)."""

    __tablename__ = "outbox_daily_jobs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_day: Mapped[str | None] = mapped_column(String(10), nullable=True)  # YYYY-MM-DD
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
