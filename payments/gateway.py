"""The one module that talks to Stripe's API (never used by the webhook: events carry enough).

Every call goes through a stripe.StripeClient pointed at STRIPE_API_BASE when set, so tests and
staging can put a local server in Stripe's place. Any Stripe failure becomes GatewayError.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import stripe
from flask import current_app

from membership.models import Tier

_clients: dict[tuple[str, str | None], stripe.StripeClient] = {}
_clients_lock = threading.Lock()
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30


class GatewayError(Exception):
    """Stripe could not be reached or refused the request; nothing was recorded."""


class NotFound(GatewayError):
    """Stripe answered that the object asked for does not exist."""


def _client() -> stripe.StripeClient:
    api_key = current_app.config.get("STRIPE_SECRET_KEY")
    if not api_key:
        raise GatewayError("STRIPE_SECRET_KEY is not set")
    api_base = current_app.config.get("STRIPE_API_BASE")
    key = (api_key, api_base)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = stripe.StripeClient(
                api_key,
                base_addresses={"api": api_base} if api_base else None,
                http_client=stripe.RequestsClient(
                    timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)
                ),
                max_network_retries=1,
            )
            _clients[key] = client
    return client


def _as_dict(stripe_object: Any) -> dict:
    return stripe_object.to_dict() if hasattr(stripe_object, "to_dict") else dict(stripe_object)


def _call(function, *args, **kwargs) -> dict:
    try:
        return _as_dict(function(*args, **kwargs))
    except stripe.StripeError as exc:
        current_app.logger.warning("Stripe call failed: %s", exc)
        if exc.http_status == 404:
            raise NotFound(str(exc)) from exc
        raise GatewayError(str(exc)) from exc


def _base_url() -> str:
    return current_app.config["BASE_URL"]


def search_string(value: str) -> str:
    """`value` inside a quoted string of Stripe's search query language."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def find_customer_by_email(email: str) -> str | None:
    """The oldest customer Stripe's search finds with this address, or None.

    Stripe's search index lags by up to a minute behind new customers: payments.customers keeps
    what we learn, so a customer made moments ago is known without asking.
    """
    query = {"query": f"email:'{search_string(email)}'", "limit": 10}
    found = _call(_client().v1.customers.search, query).get("data") or []
    found = [customer for customer in found if customer.get("id")]
    if not found:
        return None
    return min(found, key=lambda customer: (customer.get("created") or 0, customer["id"]))["id"]


def create_customer(email: str, idempotency_key: str) -> str:
    params = {"email": email, "metadata": {"source": "membership checkout"}}
    return _call(_client().v1.customers.create, params, {"idempotency_key": idempotency_key})["id"]


def create_subscription_checkout(
    tier: Tier, email: str, customer_id: str, idempotency_key: str
) -> dict:
    """A Checkout Session in subscription mode for `tier`; the reader pays on Stripe's page.

    It passes the reader's `customer`, never `customer_email`, which would make a new customer.
    """
    metadata = {"tier_slug": tier.slug, "tier_id": str(tier.id), "email": email}
    params = {
        "mode": "subscription",
        "line_items": [{"price": tier.stripe_price_id, "quantity": 1}],
        "customer": customer_id,
        "client_reference_id": f"tier-{tier.slug}",
        "metadata": metadata,
        "subscription_data": {"metadata": metadata},
        "success_url": _base_url() + "/membership/welcome?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": _base_url() + "/membership",
    }
    return _call(
        _client().v1.checkout.sessions.create,
        params,
        {"idempotency_key": idempotency_key},
    )


def create_contribution_checkout(
    amount: int, currency: str, email: str | None, customer_id: str | None, idempotency_key: str
) -> dict:
    """A one-time gift of `amount` minor units, in payment mode (for the reader's customer when
    the address has one; a gift alone makes none)."""
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount,
                    "product_data": {"name": "One-time contribution"},
                },
                "quantity": 1,
            }
        ],
        "client_reference_id": "contribution",
        "metadata": {"purpose": "contribution"},
        "success_url": _base_url() + "/membership/welcome?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": _base_url() + "/membership",
    }
    if customer_id:
        params["customer"] = customer_id
    elif email:
        params["customer_email"] = email
    return _call(
        _client().v1.checkout.sessions.create, params, {"idempotency_key": idempotency_key}
    )


def retrieve_checkout_session(session_id: str) -> dict:
    return _call(_client().v1.checkout.sessions.retrieve, session_id)


def create_portal_session(customer_id: str) -> dict:
    params = {"customer": customer_id, "return_url": _base_url() + "/membership"}
    return _call(_client().v1.billing_portal.sessions.create, params)


def create_price(
    *, amount: int, currency: str, interval: str, name: str, slug: str, idempotency_key: str
) -> dict:
    params = {
        "unit_amount": amount,
        "currency": currency,
        "recurring": {"interval": interval},
        "product_data": {"name": name},
        "metadata": {"tier_slug": slug},
    }
    return _call(_client().v1.prices.create, params, {"idempotency_key": idempotency_key})


def iter_subscriptions(page_size: int = 100) -> Iterator[dict]:
    """Every subscription on the account, canceled ones too, a page at a time."""
    params: dict[str, Any] = {"status": "all", "limit": page_size, "expand": ["data.customer"]}
    while True:
        page = _call(_client().v1.subscriptions.list, dict(params))
        data = page.get("data") or []
        yield from data
        if not page.get("has_more") or not data:
            return
        params["starting_after"] = data[-1]["id"]
