"""Stripe's records kept here: the events handled, and invoice history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String
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
    """Invoice history (invoice.paid / invoice.payment_failed); never changes a status.

    Refunds and disputes of an invoice's charge are in ChargeReversal, tied to the invoice by
    InvoicePaymentLink."""

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


class InvoicePaymentLink(db.Model):
    """Which invoice a PaymentIntent (or a bare charge) paid, from `invoice_payment.paid`.

    Since API version 2025-03-31 neither a charge nor a PaymentIntent names its invoice: this is
    how a refund or a dispute of a charge is found to be a membership payment's."""

    __tablename__ = "invoice_payment_links"

    payment_ref: Mapped[str] = mapped_column(String(255), primary_key=True)  # pi_... or ch_...
    stripe_invoice_id: Mapped[str] = mapped_column(String(255), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChargeReversal(db.Model):
    """Money that went back from one charge: its refunds and its dispute, as the newest event
    about each says. Never changes a member's status: the count follows the subscription."""

    __tablename__ = "charge_reversals"

    charge_id: Mapped[str] = mapped_column(String(255), primary_key=True)  # ch_...
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    # The charge's own running total (charge.refunded), and each refund (refund.* events) by id:
    # {"re_…": {"amount": int, "status": str, "created": int}}. Either may arrive alone.
    charge_amount_refunded: Mapped[int] = mapped_column(Integer, default=0)
    charge_event_created: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds: Mapped[dict] = mapped_column(JSON, default=dict)
    dispute_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    dispute_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    dispute_amount: Mapped[int] = mapped_column(Integer, default=0)
    dispute_event_created: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
