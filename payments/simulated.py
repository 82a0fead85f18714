"""Simulated Stripe for development: no STRIPE_SECRET_KEY, no payment, the same events.

Sessions live in signed tokens (no table). Paying builds the events Stripe would send, signs
them with the webhook secret and hands them to the webhook's own receive_event(), so the counter
moves through exactly the code that real events take.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from membership.models import MemberSubscription, Tier
from membership.services import customer_subscriptions, tier_by_slug
from payments.handlers import CONTRIBUTION_PURPOSE, TIER_KEY
from payments.webhook import receive_event, sign_payload

API_VERSION = "2026-10-28.endive"
SESSION_MAX_AGE_SECONDS = 24 * 3600
_OPEN_SALT = "payments.simulated-checkout.v1"
_COMPLETED_SALT = "payments.simulated-session.v1"
PERIOD_SECONDS = {"month": 30 * 86400, "year": 365 * 86400}


class SimulatedSessionInvalid(Exception):
    pass


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def open_session(
    *,
    mode: str,
    email: str | None,
    customer: str | None = None,
    tier: Tier | None = None,
    amount: int | None = None,
    currency: str = "usd",
) -> str:
    """A signed token standing for an open Checkout Session.

    As in Stripe, paying it makes a new customer unless `customer` is passed (a gift without one
    has no customer at all).
    """
    session_id = "cs_sim_" + secrets.token_hex(12)
    if customer is None and mode == "subscription":
        customer = "cus_sim_" + secrets.token_hex(7)
    session: dict[str, Any] = {
        "id": session_id,
        "mode": mode,
        "email": email,
        "customer": customer,
        "created": int(time.time()),
        "currency": currency,
        "amount": amount if tier is None else tier.amount,
    }
    if tier is not None:
        session["tier"] = tier.slug
        session["currency"] = tier.currency
    return _serializer(_OPEN_SALT).dumps(session)


def read_open_session(token: str) -> dict:
    try:
        return _serializer(_OPEN_SALT).loads(token, max_age=SESSION_MAX_AGE_SECONDS)
    except BadSignature as exc:
        raise SimulatedSessionInvalid() from exc


def read_completed_session(token: str) -> dict:
    """The completed session for the welcome page, shaped like Stripe's retrieve answer."""
    try:
        return _serializer(_COMPLETED_SALT).loads(token, max_age=SESSION_MAX_AGE_SECONDS)
    except BadSignature as exc:
        raise SimulatedSessionInvalid() from exc


def _event(event_type: str, obj: dict, event_id: str, created: int) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj},
    }


def _price(tier: Tier) -> dict:
    return {
        "id": tier.stripe_price_id,
        "object": "price",
        "active": True,
        "currency": tier.currency,
        "unit_amount": tier.amount,
        "recurring": {"interval": tier.interval, "interval_count": 1},
        "type": "recurring",
    }


def subscription_object(
    subscription_id: str,
    customer_id: str,
    tier: Tier,
    *,
    status: str,
    started: int,
    metadata: dict,
    canceled_at: int | None = None,
) -> dict:
    period_end = started + PERIOD_SECONDS.get(tier.interval, PERIOD_SECONDS["month"])
    return {
        "id": subscription_id,
        "object": "subscription",
        "customer": customer_id,
        "status": status,
        "start_date": started,
        "created": started,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": canceled_at,
        "ended_at": canceled_at,
        "currency": tier.currency,
        "livemode": False,
        "metadata": metadata,
        "items": {
            "object": "list",
            "has_more": False,
            "data": [
                {
                    "id": "si_sim_" + subscription_id.removeprefix("sub_sim_"),
                    "object": "subscription_item",
                    "current_period_start": started,
                    "current_period_end": period_end,
                    "price": _price(tier),
                    "quantity": 1,
                    "subscription": subscription_id,
                }
            ],
        },
    }


def _deliver(events: list[dict]) -> None:
    for event in events:
        payload = json.dumps(event)
        receive_event(payload.encode(), sign_payload(payload))


def pay(open_token: str) -> str:
    """Play the events Stripe sends for a paid session; returns the welcome page's session_id.

    Ids derive from the session, so pressing Pay twice repeats the same events (duplicates).
    """
    session = read_open_session(open_token)
    suffix = session["id"].removeprefix("cs_sim_")
    now = int(time.time())
    email = session.get("email")
    customer_id = session.get("customer")
    completed: dict[str, Any] = {
        "id": session["id"],
        "object": "checkout.session",
        "mode": session["mode"],
        "status": "complete",
        "payment_status": "paid",
        "created": session["created"],
        "customer": customer_id,
        "customer_email": email,
        "customer_details": {"email": email},
        "amount_total": session.get("amount"),
        "currency": session.get("currency", "usd"),
        "livemode": False,
        "subscription": None,
        "metadata": {},
    }
    events: list[dict] = []
    if session["mode"] == "subscription":
        tier = tier_by_slug(session["tier"])
        if tier is None:
            raise SimulatedSessionInvalid()
        metadata = {TIER_KEY: tier.slug, "tier_id": str(tier.id), "email": email}
        subscription_id = f"sub_sim_{suffix}"
        completed.update(subscription=subscription_id, metadata=metadata)
        subscription = subscription_object(
            subscription_id, customer_id, tier, status="active", started=now, metadata=metadata
        )
        invoice = _invoice(f"in_sim_{suffix}", subscription, tier, now)
        events = [
            _event("customer.subscription.created", subscription, f"evt_sim_{suffix}_s", now),
            _event("checkout.session.completed", completed, f"evt_sim_{suffix}_c", now),
            _event("invoice.paid", invoice, f"evt_sim_{suffix}_i", now),
        ]
    else:
        completed["metadata"] = {"purpose": CONTRIBUTION_PURPOSE}
        events = [_event("checkout.session.completed", completed, f"evt_sim_{suffix}_c", now)]
    _deliver(events)
    return _serializer(_COMPLETED_SALT).dumps(completed)


def _invoice(invoice_id: str, subscription: dict, tier: Tier, now: int) -> dict:
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": subscription["customer"],
        "amount_due": tier.amount,
        "amount_paid": tier.amount,
        "currency": tier.currency,
        "status": "paid",
        "created": now,
        "status_transitions": {"paid_at": now},
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": subscription["id"],
                "metadata": subscription["metadata"],
            },
        },
        "lines": {
            "object": "list",
            "has_more": False,
            "data": [
                {
                    "amount": tier.amount,
                    "currency": tier.currency,
                    "pricing": {
                        "type": "price_details",
                        "price_details": {"price": tier.stripe_price_id},
                    },
                }
            ],
        },
    }


def cancel(row: MemberSubscription) -> None:
    """What the Customer Portal's "Cancel" does: Stripe sends customer.subscription.deleted."""
    now = int(time.time())
    started = int(row.started_at.timestamp()) if row.started_at else now
    subscription = subscription_object(
        row.stripe_subscription_id,
        row.customer_id,
        row.tier,
        status="canceled",
        started=started,
        metadata={TIER_KEY: row.tier.slug},
        canceled_at=now,
    )
    event_id = "evt_sim_" + secrets.token_hex(12)
    _deliver([_event("customer.subscription.deleted", subscription, event_id, now)])


def cancel_for_customer(customer_id: str, subscription_id: str) -> bool:
    """The portal's Cancel for one of this customer's subscriptions; False if it is not theirs.
    A subscription already ended is left as it is."""
    owned = {row.stripe_subscription_id: row for row in customer_subscriptions(customer_id)}
    row = owned.get(subscription_id)
    if row is None or row.tier is None:
        return False
    if not row.deleted:
        cancel(row)
    return True
