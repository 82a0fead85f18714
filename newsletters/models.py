"""Lists, subscribers, their subscriptions and the consent behind each opt-in."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from database import UTCDateTime, utcnow
from extensions import db

PENDING = "pending"
CONFIRMED = "confirmed"
UNSUBSCRIBED = "unsubscribed"
SUBSCRIPTION_STATUSES = (PENDING, CONFIRMED, UNSUBSCRIBED)

SOURCE_PAGE = "page"
SOURCE_EMBED = "embed"
SOURCE_API = "api"
SOURCES = (SOURCE_PAGE, SOURCE_EMBED, SOURCE_API)


class Newsletter(db.Model):
    __tablename__ = "newsletters"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # Its campaigns go only to readers who are members (by address) when sending starts.
    members_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Subscriber(db.Model):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # As email-validator normalises it; email_key (lower-cased) carries the uniqueness.
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The reader's mail language (en, uk): of the page or API request of their latest signup
    # that showed one. NULL: never shown (an import), so mail goes in the default language.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # Caps on how often one address is mailed by signups (a signup form must not be a spam cannon).
    confirmations_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    confirmations_sent: Mapped[int] = mapped_column(Integer, default=0)
    already_subscribed_notice_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True
    )

    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="subscriber")


class Subscription(db.Model):
    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "newsletter_id", name="uq_subscription_subscriber_list"),
        Index("ix_subscriptions_newsletter_status", "newsletter_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletters.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    newsletter: Mapped[Newsletter] = relationship()


class Consent(db.Model):
    """One row per opt-in request: what the reader saw and agreed to, and when they confirmed."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_source_signed_up", "source", "signed_up_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    newsletter_slugs: Mapped[str] = mapped_column(Text)  # space-separated, as asked for
    source: Mapped[str] = mapped_column(String(16))  # page, embed or api
    source_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(Text, nullable=True)
    wording: Mapped[str | None] = mapped_column(Text, nullable=True)
    signed_up_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
