"""Tiers, members' subscriptions, their history, one-time contributions, run-time settings.

Invoice history (payments) belongs to payments/models.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from database import UTCDateTime, utcnow
from extensions import db

# Statuses that make a subscription count toward the goal (CONTRACT.md, "A member is ...").
COUNTING_STATUSES = ("active", "trialing", "past_due")


class Tier(db.Model):
    __tablename__ = "tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(Integer)  # minor units (cents)
    currency: Mapped[str] = mapped_column(String(3))  # lower-case ISO code, as Stripe sends it
    interval: Mapped[str] = mapped_column(String(8))  # month or year
    stripe_price_id: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MemberSubscription(db.Model):
    """A Stripe subscription to one of our tiers, as the newest event we saw describes it."""

    __tablename__ = "member_subscriptions"
    __table_args__ = (Index("ix_member_subscriptions_status_customer", "status", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str] = mapped_column(String(255), index=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True, index=True)
    # Set when the reader erased their data: the address is not learned again from events.
    email_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(32))
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Ordering guard: the `created` (Unix seconds) of the event that last set the status.
    status_event_created: Mapped[int] = mapped_column(BigInteger, default=0)
    deleted: Mapped[bool] = mapped_column(default=False)  # subscription.deleted is final
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    tier: Mapped[Tier | None] = relationship()


class MemberEvent(db.Model):
    """History: one row per change of a subscription's counting state, for growth charts."""

    __tablename__ = "member_events"
    __table_args__ = (Index("ix_member_events_occurred", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), index=True)
    customer_id: Mapped[str] = mapped_column(String(255))
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id"), nullable=True)
    stripe_event_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    # +1 when the customer starts counting as a member, -1 when they stop, 0 otherwise.
    member_delta: Mapped[int] = mapped_column(Integer, default=0)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Contribution(db.Model):
    """A one-time gift through Checkout in payment mode: recorded, never counted as a member."""

    __tablename__ = "contributions"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_session_id: Mapped[str] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppSetting(db.Model):
    """Values staff may change at run time (the goal), overriding the environment's default."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
