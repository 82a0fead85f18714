"""Whether checkout goes to Stripe or to the simulated checkout: decided here alone."""

from __future__ import annotations

from flask import current_app


def simulated_mode() -> bool:
    """No Stripe key: checkout is simulated, except in production, where anyone could then
    "pay" and raise the public count; there checkout answers that it is unavailable."""
    config = current_app.config
    return not config.get("STRIPE_SECRET_KEY") and config.get("APP_ENV") != "production"
