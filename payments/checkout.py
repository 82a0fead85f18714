"""Where a reader goes to pay: one path for joining and for a one-time contribution.

The form becomes an Order (or InvalidOrder with a message per field); the Order becomes the URL
of Stripe Checkout, or of the simulated checkout without a key. A GatewayError means nothing
was recorded.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext

from i18n import number
from membership.models import Tier
from membership.services import InvalidInput, chosen_tier, read_email
from payments import gateway, simulated
from payments.customers import customer_for_checkout
from payments.mode import simulated_mode

# One-time contributions, in major units of CONTRIBUTION_CURRENCY.
CONTRIBUTION_MIN, CONTRIBUTION_MAX = 1, 10_000
CONTRIBUTION_CURRENCY = "usd"


@dataclass(frozen=True)
class Order:
    email: str | None
    tier: Tier | None = None  # a membership; None for a one-time contribution
    cents: int = 0


class InvalidOrder(Exception):
    """Messages by field, and the form as the reader filled it in, to show it again."""

    def __init__(self, errors: dict[str, str], form: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors
        self.form = form


def contribution_cents(raw: str | None) -> int:
    text = (raw or "").strip().lstrip("$").replace(",", "")
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not CONTRIBUTION_MIN <= value <= CONTRIBUTION_MAX or round(value * 100) != value * 100:
        message = gettext(
            "Enter an amount between %(least)s and %(most)s dollars.",
            least=number(CONTRIBUTION_MIN),
            most=number(CONTRIBUTION_MAX),
        )
        raise InvalidInput("amount", message)
    return round(value * 100)


def _field(errors: dict[str, str], reader, raw: str, error_field: str | None = None):
    """The field read, or None with its message added to `errors` (every field is checked)."""
    try:
        return reader(raw)
    except InvalidInput as exc:
        errors[error_field or exc.field] = exc.message
        return None


def membership_order(form: Mapping[str, str]) -> Order:
    shown = {"tier": form.get("tier", ""), "email": form.get("email", "")}
    errors: dict[str, str] = {}
    tier = _field(errors, chosen_tier, shown["tier"])
    email = _field(errors, read_email, shown["email"])
    if errors:
        raise InvalidOrder(errors, shown)
    return Order(email=email, tier=tier)


def contribution_order(form: Mapping[str, str]) -> Order:
    shown = {"amount": form.get("amount", ""), "contribution_email": form.get("email", "")}
    errors: dict[str, str] = {}
    cents = _field(errors, contribution_cents, shown["amount"])
    optional_email = lambda raw: read_email(raw, required=False)  # noqa: E731
    email = _field(errors, optional_email, shown["contribution_email"], "contribution_email")
    if errors:
        raise InvalidOrder(errors, shown)
    return Order(email=email, cents=cents)


def checkout_idempotency_key(kind: str, *parts: str, attempt: str | None = None) -> str:
    """The same form submitted twice gets the same session; a fresh page load a new one."""
    nonce = (attempt or "").strip()[:64] or str(int(time.time()) // 600)
    digest = hashlib.sha256("|".join((kind, *parts, nonce)).encode()).hexdigest()
    return f"{kind}-{digest[:40]}"


def checkout_url(order: Order, attempt: str | None) -> str:
    """Stripe Checkout's page for this order, or the simulated checkout's without a key.

    Either way it is for the reader's own customer (a membership always has one; a gift only
    when the address already has one); the caller commits the customer learned on the way.
    """
    tier, email, simulate = order.tier, order.email, simulated_mode()
    customer_id = customer_for_checkout(email, create=tier is not None, simulated=simulate)
    if simulate:
        mode = "subscription" if tier is not None else "payment"
        token = simulated.open_session(
            mode=mode,
            email=email,
            customer=customer_id,
            tier=tier,
            amount=order.cents,
            currency=CONTRIBUTION_CURRENCY,
        )
        return url_for("payments.simulated_checkout", token=token)
    if tier is not None:
        key = checkout_idempotency_key("membership", tier.slug, customer_id, attempt=attempt)
        return gateway.create_subscription_checkout(tier, email, customer_id, key)["url"]
    parts = (str(order.cents), customer_id or email or "")
    key = checkout_idempotency_key("contribution", *parts, attempt=attempt)
    session = gateway.create_contribution_checkout(
        order.cents, CONTRIBUTION_CURRENCY, email, customer_id, key
    )
    return session["url"]
