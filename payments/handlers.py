"""One small handler per Stripe event type; each reads the payload alone and never calls Stripe.

A handler returns "handled" or "ignored" and leaves committing to payments.webhook.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from database import dialect_name, upsert_for
from extensions import db
from membership import services as membership
from membership.fulfilment import (
    SubscriptionState,
    apply_subscription_state,
    lock_customer,
    record_contribution,
    timestamp,
)
from membership.models import Tier
from payments.customers import customer_remembering, remember_customer
from payments.models import Payment
from payments.reversals import REVERSAL_HANDLERS, link_invoice_payment

HANDLED = "handled"
IGNORED = "ignored"
# Our checkout sessions and subscriptions carry this in their metadata.
TIER_KEY = "tier_slug"
CONTRIBUTION_PURPOSE = "contribution"


def stripe_id(value: Any) -> str | None:
    """An id whether Stripe sent it bare or as an expanded object."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value or None


# An event's tier is read as values, not as an ORM object (membership.tier_values_by_slug):
# the handlers only read its id and name.
def tier_for_price(price_id: str | None) -> Tier | None:
    return membership.tier_values_by_price(price_id) if price_id else None


def tier_for_metadata(metadata: Mapping | None) -> Tier | None:
    slug = (metadata or {}).get(TIER_KEY)
    return membership.tier_values_by_slug(slug) if slug else None


def subscription_tier(subscription: Mapping) -> Tier | None:
    """The tier of ours among the subscription's items (it may also carry prices not ours).

    A subscription we already follow stays ours when its price is no longer a tier's (the tier
    was given a new price), so its renewals and its cancellation still count.
    """
    for item in (subscription.get("items") or {}).get("data") or []:
        tier = tier_for_price(stripe_id((item or {}).get("price")))
        if tier is not None:
            return tier
    followed = membership.subscription_by_stripe_id(subscription.get("id") or "")
    return followed.tier if followed is not None else None


def subscription_state(
    subscription: Mapping,
    tier: Tier,
    *,
    as_of: int,
    source: str,
    event_id: str | None = None,
    final: bool = False,
    email: str | None = None,
) -> SubscriptionState:
    items = (subscription.get("items") or {}).get("data") or []
    period_ends = [item["current_period_end"] for item in items if item.get("current_period_end")]
    metadata = subscription.get("metadata") or {}
    return SubscriptionState(
        subscription_id=subscription["id"],
        customer_id=stripe_id(subscription.get("customer")) or "",
        tier=tier,
        status=subscription.get("status") or "incomplete",
        as_of=as_of,
        source=source,
        email=email or metadata.get("email"),
        event_id=event_id,
        period_end=max(period_ends) if period_ends else None,
        started_at=subscription.get("start_date"),
        cancel_at=subscription.get("cancel_at"),
        canceled_at=subscription.get("canceled_at"),
        ended_at=subscription.get("ended_at"),
        final=final,
        whole_subscription=True,
    )


def handle_subscription_event(event: Mapping) -> str:
    subscription = event["data"]["object"]
    tier = subscription_tier(subscription)
    if tier is None or not subscription.get("customer"):
        return IGNORED
    state = subscription_state(
        subscription,
        tier,
        as_of=int(event["created"]),
        source=event["type"],
        event_id=event["id"],
        final=event["type"] == "customer.subscription.deleted",
    )
    # Remembered after fulfilment wrote the row (whether the customer's address was erased is
    # asked of the rows as written), in the round trip of what follows the write where it can.
    apply_subscription_state(state, then=customer_remembering(state.customer_id, state.email))
    return HANDLED


def checkout_state(session: Mapping, tier: Tier, *, as_of: int, source: str, event_id=None):
    """A paid subscription-mode session: its subscription is active as of `as_of`."""
    return SubscriptionState(
        subscription_id=stripe_id(session.get("subscription")) or "",
        customer_id=stripe_id(session.get("customer")) or "",
        tier=tier,
        status="active",
        as_of=as_of,
        source=source,
        email=session_email(session),
        event_id=event_id,
    )


def is_paid_membership_session(session: Mapping) -> bool:
    return (
        session.get("mode") == "subscription"
        and session.get("payment_status") == "paid"
        and bool(stripe_id(session.get("subscription")))
        and bool(stripe_id(session.get("customer")))
    )


def is_paid_contribution_session(session: Mapping) -> bool:
    metadata = session.get("metadata") or {}
    return (
        session.get("mode") == "payment"
        and session.get("payment_status") == "paid"
        and metadata.get("purpose") == CONTRIBUTION_PURPOSE
    )


def session_email(session: Mapping) -> str | None:
    details = session.get("customer_details") or {}
    return details.get("email") or session.get("customer_email")


def record_membership_session(
    session: Mapping, tier: Tier, *, as_of: int, source: str, event_id=None
):
    """A paid membership session: its subscription counts, and its customer is the reader's."""
    state = checkout_state(session, tier, as_of=as_of, source=source, event_id=event_id)
    lock_customer(state.customer_id)  # before the customer's row below, as every event does
    # Remembered before fulfilment reads and writes (whether the customer's address was erased
    # is asked of the rows as they were), in the round trip of fulfilment's first read.
    remembering = customer_remembering(state.customer_id, state.email)
    return apply_subscription_state(state, along_with=remembering)


def record_contribution_session(session: Mapping, occurred_at: int) -> None:
    email = session_email(session)
    remember_customer(stripe_id(session.get("customer")), email)
    record_contribution(
        session_id=session["id"],
        customer_id=stripe_id(session.get("customer")),
        email=email,
        amount=int(session.get("amount_total") or 0),
        currency=session.get("currency") or "usd",
        occurred_at=occurred_at,
    )


def handle_checkout_completed(event: Mapping) -> str:
    session = event["data"]["object"]
    if is_paid_contribution_session(session):
        record_contribution_session(session, int(event["created"]))
        return HANDLED
    if not is_paid_membership_session(session):
        return IGNORED
    tier = tier_for_metadata(session.get("metadata"))
    if tier is None:
        return IGNORED
    record_membership_session(
        session, tier, as_of=int(event["created"]), source=event["type"], event_id=event["id"]
    )
    return HANDLED


def _invoice_subscription(invoice: Mapping) -> tuple[str | None, Mapping]:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return stripe_id(details.get("subscription")), details.get("metadata") or {}


def _invoice_is_ours(invoice: Mapping, subscription_id: str | None, metadata: Mapping) -> bool:
    if tier_for_metadata(metadata) is not None:
        return True
    if subscription_id and membership.subscription_by_stripe_id(subscription_id) is not None:
        return True
    for line in (invoice.get("lines") or {}).get("data") or []:
        price = ((line.get("pricing") or {}).get("price_details") or {}).get("price")
        if tier_for_price(stripe_id(price)) is not None:
            return True
    return False


def handle_invoice_event(event: Mapping) -> str:
    """Payment history only: an invoice never changes a subscription's status."""
    invoice = event["data"]["object"]
    subscription_id, metadata = _invoice_subscription(invoice)
    if not invoice.get("id") or not _invoice_is_ours(invoice, subscription_id, metadata):
        return IGNORED
    paid = event["type"] == "invoice.paid"
    paid_at = (invoice.get("status_transitions") or {}).get("paid_at")
    customer_id = stripe_id(invoice.get("customer"))
    recorded = db.session.execute(
        _record_payment_statement(dialect_name()),
        {
            "stripe_invoice_id": invoice["id"],
            "stripe_subscription_id": subscription_id,
            "customer_id": customer_id,
            "amount": int(invoice.get("amount_paid" if paid else "amount_due") or 0),
            "currency": (invoice.get("currency") or "usd").lower(),
            "status": "paid" if paid else "failed",
            "occurred_at": timestamp(paid_at if paid and paid_at else event["created"]),
        },
    ).first()
    if recorded is None:
        return HANDLED  # a paid invoice stays paid, whatever arrives late
    remember_customer(customer_id, invoice.get("customer_email"))
    for older_api_field in ("payment_intent", "charge"):  # gone since API version 2025-03-31
        link_invoice_payment(invoice.get(older_api_field), invoice["id"])
    return HANDLED


_PAYMENT_FIELDS = (
    "stripe_subscription_id",
    "customer_id",
    "amount",
    "currency",
    "status",
    "occurred_at",
)


@cache
def _record_payment_statement(dialect: str):
    """The invoice's payment, inserted or brought up to date in one statement, unless it is
    already paid (RETURNING then gives no row). Built once per dialect."""
    payments = Payment.__table__
    statement = upsert_for(dialect, payments)
    return statement.on_conflict_do_update(
        index_elements=["stripe_invoice_id"],
        set_={name: statement.excluded[name] for name in _PAYMENT_FIELDS},
        where=payments.c.status != "paid",
    ).returning(payments.c.id)


HANDLERS: dict[str, Callable[[Mapping], str]] = {
    "checkout.session.completed": handle_checkout_completed,
    "customer.subscription.created": handle_subscription_event,
    "customer.subscription.updated": handle_subscription_event,
    "customer.subscription.deleted": handle_subscription_event,
    "invoice.paid": handle_invoice_event,
    "invoice.payment_failed": handle_invoice_event,
    # Payment history: which charge paid an invoice, and what went back from it.
    **REVERSAL_HANDLERS,
}


# These handlers fulfil a subscription under its customer's lock, first thing: the webhook's
# claim of the event takes it (membership.fulfilment.customer_lock_columns).
_LOCKING_HANDLERS = (handle_checkout_completed, handle_subscription_event)
LOCKING_EVENT_TYPES = frozenset(
    event_type for event_type, handler in HANDLERS.items() if handler in _LOCKING_HANDLERS
)


def tier_to_look_up(event: Mapping) -> tuple[str, str] | None:
    """(membership.TIER_BY_SLUG or TIER_BY_PRICE, key): the first tier lookup the event's
    handler makes, which the webhook's claim makes in its own round trip; None for none."""
    event_type = event.get("type")
    found = event["data"]["object"]
    if event_type in _SUBSCRIPTION_EVENT_TYPES:
        items = (found.get("items") or {}).get("data") or []
        price = stripe_id((items[0] or {}).get("price")) if items else None
        return (membership.TIER_BY_PRICE, price) if isinstance(price, str) else None
    if event_type == "checkout.session.completed":
        metadata = found.get("metadata")
    elif event_type in _INVOICE_EVENT_TYPES:
        metadata = _invoice_subscription(found)[1]
    else:
        return None
    slug = (metadata or {}).get(TIER_KEY)
    return (membership.TIER_BY_SLUG, slug) if slug and isinstance(slug, str) else None


_SUBSCRIPTION_EVENT_TYPES = frozenset(
    event_type for event_type, handler in HANDLERS.items() if handler is handle_subscription_event
)
_INVOICE_EVENT_TYPES = frozenset(
    event_type for event_type, handler in HANDLERS.items() if handler is handle_invoice_event
)


def customer_to_lock(event: Mapping) -> str | None:
    """The customer whose lock the event's handler takes, if any."""
    if event.get("type") not in LOCKING_EVENT_TYPES:
        return None
    customer = stripe_id(event["data"]["object"].get("customer"))
    return customer if isinstance(customer, str) else None


def dispatch(event: Mapping) -> str:
    handler = HANDLERS.get(event.get("type", ""))
    return handler(event) if handler else IGNORED
