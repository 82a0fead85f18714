"""A reader's payment records as privacy asks for them: exported, or deleted on erasure.

Payments name no address; they belong to a reader through the Stripe customers we learned for
the address (stripe_customers) and the customer and subscription ids of the reader's
memberships (membership.reader_data finds those). Refunds and disputes belong to a payment
through the invoice its charge paid. Stripe keeps its own invoices, which is where an outlet's
accounts come from: these tables are a copy. Both work in the caller's transaction and never
commit.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import delete, or_, select

from extensions import db
from payments.models import ChargeReversal, InvoicePaymentLink, Payment, StripeCustomer


@dataclass(frozen=True)
class PaymentRecord:
    stripe_customers: list[str]
    payments: list[dict]
    refunds_and_disputes: list[dict]


@dataclass(frozen=True)
class ForgottenPayments:
    payments: int
    refunds_and_disputes: int
    stripe_customers: int


@dataclass(frozen=True)
class _Rows:
    customers: list[str]
    payments: list[Payment]
    links: list[InvoicePaymentLink]
    reversals: list[ChargeReversal]


def _rows(
    address_key: str, customer_ids: Collection[str], subscription_ids: Collection[str]
) -> _Rows:
    learned = db.session.scalars(
        select(StripeCustomer.customer_id).where(StripeCustomer.email_key == address_key)
    )
    customers = sorted(set(customer_ids) | set(learned))
    payments = list(
        db.session.scalars(
            select(Payment)
            .where(
                or_(
                    Payment.customer_id.in_(customers),
                    Payment.stripe_subscription_id.in_(list(subscription_ids)),
                )
            )
            .order_by(Payment.occurred_at, Payment.id)
        )
    )
    invoices = [payment.stripe_invoice_id for payment in payments]
    links = list(
        db.session.scalars(
            select(InvoicePaymentLink).where(InvoicePaymentLink.stripe_invoice_id.in_(invoices))
        )
    )
    references = [link.payment_ref for link in links]
    reversals = list(
        db.session.scalars(
            select(ChargeReversal)
            .where(
                or_(
                    ChargeReversal.charge_id.in_(references),
                    ChargeReversal.payment_intent_id.in_(references),
                )
            )
            .order_by(ChargeReversal.charge_id)
        )
    )
    return _Rows(customers, payments, links, reversals)


def payment_record(
    address_key: str, customer_ids: Collection[str], subscription_ids: Collection[str]
) -> PaymentRecord:
    rows = _rows(address_key, customer_ids, subscription_ids)
    return PaymentRecord(
        stripe_customers=rows.customers,
        payments=[
            {
                "stripe_invoice_id": row.stripe_invoice_id,
                "stripe_subscription_id": row.stripe_subscription_id,
                "amount": row.amount,
                "currency": row.currency,
                "status": row.status,
                "occurred_at": row.occurred_at.isoformat(),
            }
            for row in rows.payments
        ],
        refunds_and_disputes=[
            {
                "stripe_charge_id": row.charge_id,
                "currency": row.currency,
                "refunded": row.charge_amount_refunded,
                "refunds": row.refunds,
                "dispute_status": row.dispute_status,
                "dispute_amount": row.dispute_amount,
            }
            for row in rows.reversals
        ],
    )


def forget_payments(
    address_key: str, customer_ids: Collection[str], subscription_ids: Collection[str]
) -> ForgottenPayments:
    """Delete the reader's payments, their refunds and disputes, and which customers we
    learned the address is."""
    rows = _rows(address_key, customer_ids, subscription_ids)
    for statement in (
        delete(ChargeReversal).where(
            ChargeReversal.charge_id.in_([row.charge_id for row in rows.reversals])
        ),
        delete(InvoicePaymentLink).where(
            InvoicePaymentLink.payment_ref.in_([row.payment_ref for row in rows.links])
        ),
        delete(Payment).where(Payment.id.in_([row.id for row in rows.payments])),
        delete(StripeCustomer).where(
            or_(
                StripeCustomer.email_key == address_key,
                StripeCustomer.customer_id.in_(rows.customers),
            )
        ),
    ):
        db.session.execute(statement.execution_options(synchronize_session=False))
    return ForgottenPayments(len(rows.payments), len(rows.reversals), len(rows.customers))
