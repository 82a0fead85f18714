"""A new tier's Stripe Price: created through the gateway, or a stand-in id without a key."""

from __future__ import annotations

from flask import current_app

from payments import gateway


def new_price_id(*, slug: str, name: str, amount: int, currency: str, interval: str) -> str:
    """Handed to membership's add_tier(); raises gateway.GatewayError when Stripe refuses."""
    if not current_app.config.get("STRIPE_SECRET_KEY"):
        return f"price_sim_{slug}"  # what the simulated checkout sells
    price = gateway.create_price(
        amount=amount,
        currency=currency,
        interval=interval,
        name=name,
        slug=slug,
        idempotency_key=f"tier-price-{slug}-{amount}-{currency}-{interval}",
    )
    return price["id"]
