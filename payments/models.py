"""Stripe's records kept here: the events handled, and invoice history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from database import UTCDateTime, utcnow
from extensions import db


class ProcessedEvent(db.Model):
    """The id is stored in the same transaction as the event's effects: handled once."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # evt_...
    type: Mapped[str] = mapped_column(String(64))
    created: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(16))  # handled or ignored
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payment(db.Model):
    """Invoice history (invoice.paid / invoice.payment_failed); never changes a status."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_invoice_id: Mapped[str] = mapped_column(String(255), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(
        String(255), nullable=True, index=True
    )
    customer_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    amount: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    status: Mapped[str] = mapped_column(String(32))  # paid or failed
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StripeCustomer(db.Model):
    """Which Stripe customer an address is, learned from events, the thanks page, reconcile and
    checkout itself: the next checkout for the address passes it (one reader, one customer)."""

    __tablename__ = "stripe_customers"

    customer_id: Mapped[str] = mapped_column(String(255), primary_key=True)  # cus_...
    email_key: Mapped[str] = mapped_column(String(320), index=True)
    learned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
