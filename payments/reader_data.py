"""A reader's payment history as privacy asks for it: exported, or deleted on erasure.

Payments name no address; they belong to a reader through the Stripe customer and
subscription ids of the reader's memberships (membership.reader_data finds those). Stripe keeps
its own invoices, which is where an outlet's accounts come from: this table is a copy.
Both work in the caller's transaction and never commit.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, or_, select

from extensions import db
from payments.models import Payment


def _theirs(customer_ids: Collection[str], subscription_ids: Collection[str]):
    return or_(
        Payment.customer_id.in_(list(customer_ids)),
        Payment.stripe_subscription_id.in_(list(subscription_ids)),
    )


def payments_of(customer_ids: Collection[str], subscription_ids: Collection[str]) -> list[dict]:
    if not customer_ids and not subscription_ids:
        return []
    rows = db.session.scalars(
        select(Payment)
        .where(_theirs(customer_ids, subscription_ids))
        .order_by(Payment.occurred_at, Payment.id)
    )
    return [
        {
            "stripe_invoice_id": row.stripe_invoice_id,
            "stripe_subscription_id": row.stripe_subscription_id,
            "amount": row.amount,
            "currency": row.currency,
            "status": row.status,
            "occurred_at": row.occurred_at.isoformat(),
        }
        for row in rows
    ]


def forget_payments(customer_ids: Collection[str], subscription_ids: Collection[str]) -> int:
    """Delete the reader's payment history here; returns how many rows."""
    if not customer_ids and not subscription_ids:
        return 0
    deleted = db.session.execute(
        delete(Payment)
        .where(_theirs(customer_ids, subscription_ids))
        .returning(Payment.id)
        .execution_options(synchronize_session=False)
    ).all()
    return len(deleted)
