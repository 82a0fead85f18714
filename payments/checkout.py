"""Where a reader goes to pay: Stripe Checkout, or the simulated checkout without a key.

Both functions answer a URL to redirect to, or raise gateway.GatewayError (nothing recorded).
"""

from __future__ import annotations

from flask import url_for

from membership.models import Tier
from membership.services import CONTRIBUTION_CURRENCY, checkout_idempotency_key
from payments import gateway, simulated
from payments.webhook import simulated_mode


def membership_checkout_url(tier: Tier, email: str, attempt: str | None) -> str:
    if simulated_mode():
        token = simulated.open_session(mode="subscription", email=email, tier=tier)
        return url_for("payments.simulated_checkout", token=token)
    key = checkout_idempotency_key("membership", tier.slug, email, attempt=attempt)
    return gateway.create_subscription_checkout(tier, email, key)["url"]


def contribution_checkout_url(cents: int, email: str | None, attempt: str | None) -> str:
    currency = CONTRIBUTION_CURRENCY
    if simulated_mode():
        token = simulated.open_session(mode="payment", email=email, amount=cents, currency=currency)
        return url_for("payments.simulated_checkout", token=token)
    key = checkout_idempotency_key("contribution", str(cents), email or "", attempt=attempt)
    return gateway.create_contribution_checkout(cents, currency, email, key)["url"]
