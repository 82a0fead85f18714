"""Refunds and disputes of membership payments: payment history for staff, never a status.

A member's count follows their subscription's status alone (membership/definition.py says so):
a refund or a lost dispute is recorded here and shown beside the invoice it took money from.
Each handler reads the event's payload alone, is safe to run twice and in any order (the newest
event about a refund, a charge's total or a dispute wins), and leaves committing to the webhook.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from database import upsert, utcnow
from extensions import db
from payments.models import ChargeReversal, InvoicePaymentLink, Payment

HANDLED = "handled"
IGNORED = "ignored"
# A pending refund is money already on its way back; a failed or canceled one is not.
REFUNDED_STATUSES = ("succeeded", "pending")
MAX_ID_LENGTH = 255


def _id(value: Any) -> str | None:
    """A Stripe id whether sent bare or expanded; None for anything that is not one."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and "\x00" not in value:
        return value
    return None


def _amount(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def link_invoice_payment(payment_ref: Any, invoice_id: Any) -> None:
    """Remember that the PaymentIntent or charge `payment_ref` paid `invoice_id`."""
    payment_ref, invoice_id = _id(payment_ref), _id(invoice_id)
    if not payment_ref or not invoice_id:
        return
    statement = upsert(InvoicePaymentLink.__table__).values(
        payment_ref=payment_ref, stripe_invoice_id=invoice_id, recorded_at=utcnow()
    )
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["payment_ref"]))


def handle_invoice_payment_paid(event: Mapping) -> str:
    """invoice_payment.paid: which PaymentIntent (or charge) paid which invoice."""
    paid = event["data"]["object"]
    invoice_id = _id(paid.get("invoice"))
    payment = paid.get("payment") if isinstance(paid.get("payment"), Mapping) else {}
    refs = {_id(payment.get(name)) for name in ("payment_intent", "charge")}
    refs |= {_id(paid.get(name)) for name in ("payment_intent", "charge")}  # a flatter shape
    refs.discard(None)
    if not invoice_id or not refs:
        return IGNORED
    for ref in refs:
        link_invoice_payment(ref, invoice_id)
    return HANDLED


def _reversal_row(charge_id: str, payment_intent_id: str | None, currency: Any) -> ChargeReversal:
    """The charge's row, made if new and locked: refund events for one charge arrive together."""
    statement = upsert(ChargeReversal.__table__).values(
        charge_id=charge_id,
        payment_intent_id=payment_intent_id,
        currency=(currency if isinstance(currency, str) and len(currency) == 3 else "usd").lower(),
        charge_amount_refunded=0,
        charge_event_created=0,
        refunds={},
        dispute_amount=0,
        dispute_event_created=0,
        updated_at=utcnow(),
    )
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["charge_id"]))
    row = db.session.execute(
        select(ChargeReversal)
        .where(ChargeReversal.charge_id == charge_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if row.payment_intent_id is None and payment_intent_id:
        row.payment_intent_id = payment_intent_id
    return row


def _record_refund(row: ChargeReversal, refund: Any, created: int) -> None:
    if not isinstance(refund, Mapping) or not _id(refund.get("id")):
        return
    refunds = dict(row.refunds or {})
    known = refunds.get(refund["id"]) or {}
    if created < int(known.get("created", 0)):
        return  # an older event about this refund
    status = refund.get("status") if isinstance(refund.get("status"), str) else "succeeded"
    refunds[refund["id"]] = {
        "amount": _amount(refund.get("amount")),
        "status": status[:32],
        "created": created,
    }
    row.refunds = refunds  # a new dict, so the JSON column is written


def _row_of(stripe_object: Mapping, charge_field: str = "charge") -> ChargeReversal | None:
    """The row of the charge a charge, refund or dispute object is about (None: it names none)."""
    charge_id = _id(stripe_object.get(charge_field))
    if charge_id is None:
        return None
    payment_intent_id = _id(stripe_object.get("payment_intent"))
    return _reversal_row(charge_id, payment_intent_id, stripe_object.get("currency"))


def handle_charge_refunded(event: Mapping) -> str:
    """charge.refunded: the charge's running total, and its refunds when the payload has them."""
    charge = event["data"]["object"]
    row = _row_of(charge, charge_field="id")
    if row is None:
        return IGNORED
    created = int(event["created"])
    if created >= row.charge_event_created:
        row.charge_amount_refunded = _amount(charge.get("amount_refunded"))
        row.charge_event_created = created
    refunds = charge.get("refunds") if isinstance(charge.get("refunds"), Mapping) else {}
    for refund in refunds.get("data") or []:
        _record_refund(row, refund, created)
    link_invoice_payment(row.charge_id, charge.get("invoice"))  # API versions before 2025-03-31
    return HANDLED


def handle_refund_event(event: Mapping) -> str:
    """refund.created, refund.updated, refund.failed (and charge.refund.updated, its old name)."""
    refund = event["data"]["object"]
    row = _row_of(refund)
    if row is None:
        return IGNORED
    _record_refund(row, refund, int(event["created"]))
    return HANDLED


def handle_dispute_closed(event: Mapping) -> str:
    """charge.dispute.closed: lost (the money stays with the cardholder), won, or closed."""
    dispute = event["data"]["object"]
    row = _row_of(dispute)
    if row is None:
        return IGNORED
    created = int(event["created"])
    if created >= row.dispute_event_created:
        status = dispute.get("status")
        row.dispute_id = _id(dispute.get("id"))
        row.dispute_status = status[:32] if isinstance(status, str) else None
        row.dispute_amount = _amount(dispute.get("amount"))
        row.dispute_event_created = created
    return HANDLED


REVERSAL_HANDLERS = {
    "invoice_payment.paid": handle_invoice_payment_paid,
    "charge.refunded": handle_charge_refunded,
    "refund.created": handle_refund_event,
    "refund.updated": handle_refund_event,
    "refund.failed": handle_refund_event,
    "charge.refund.updated": handle_refund_event,
    "charge.dispute.closed": handle_dispute_closed,
}


@dataclass
class PaymentLine:
    """One invoice of a member's, with what went back from it."""

    payment: Payment
    refunded: int = 0
    refunds: list[dict] = field(default_factory=list)  # {"id", "amount", "status"}
    dispute_status: str | None = None
    dispute_amount: int = 0

    @property
    def dispute_lost(self) -> bool:
        return self.dispute_status == "lost"


def refunded_amount(row: ChargeReversal) -> int:
    """What went back from the charge: the larger of its own running total and its refunds
    (either may be all we were told)."""
    listed = sum(
        int(refund.get("amount", 0))
        for refund in (row.refunds or {}).values()
        if refund.get("status") in REFUNDED_STATUSES
    )
    return max(row.charge_amount_refunded, listed)


def payment_history(customer_ids: Iterable[str]) -> list[PaymentLine]:
    """These customers' invoices, newest first, each with its refunds and dispute."""
    customer_ids = list(customer_ids)
    if not customer_ids:
        return []
    payments = db.session.execute(
        select(Payment)
        .where(Payment.customer_id.in_(customer_ids))
        .order_by(Payment.occurred_at.desc(), Payment.id.desc())
    ).scalars()
    lines = {payment.stripe_invoice_id: PaymentLine(payment) for payment in payments}
    if not lines:
        return []
    links = dict(
        db.session.execute(
            select(InvoicePaymentLink.payment_ref, InvoicePaymentLink.stripe_invoice_id).where(
                InvoicePaymentLink.stripe_invoice_id.in_(list(lines))
            )
        ).all()
    )
    if links:
        reversals = db.session.execute(
            select(ChargeReversal).where(
                or_(
                    ChargeReversal.charge_id.in_(list(links)),
                    ChargeReversal.payment_intent_id.in_(list(links)),
                )
            )
        ).scalars()
        for row in reversals:
            invoice_id = links.get(row.charge_id) or links.get(row.payment_intent_id or "")
            _add_reversal(lines[invoice_id], row)
    return list(lines.values())


def _add_reversal(line: PaymentLine, row: ChargeReversal) -> None:
    line.refunded += refunded_amount(row)
    for refund_id, refund in sorted((row.refunds or {}).items()):
        line.refunds.append({"id": refund_id, **refund})
    if row.dispute_status:
        line.dispute_status = row.dispute_status
        line.dispute_amount = row.dispute_amount
