"""Membership rules: tiers, validating what readers send, the welcome page's fulfilment,
and the "Manage membership" link. No Flask request objects here; callers commit.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

import addresses
from extensions import db
from mailer.services import queue_mail
from membership.fulfilment import Outcome, apply_subscription_state
from membership.models import MemberSubscription, Tier
from payments import gateway
from payments.handlers import (
    checkout_state,
    is_paid_contribution_session,
    is_paid_membership_session,
    record_contribution_session,
    tier_for_metadata,
)
from signing import external_url, make_token

PORTAL_LINK_MAX_AGE_SECONDS = 24 * 3600
INTERVALS = ("month", "year")
TIER_SLUG_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "uah": "₴", "cad": "CA$", "aud": "A$"}
# One-time contributions, in major units of CONTRIBUTION_CURRENCY.
CONTRIBUTION_MIN, CONTRIBUTION_MAX = 1, 10_000
CONTRIBUTION_CURRENCY = "usd"

DEMO_TIERS = (
    ("supporter", "Supporter", 500, "month"),
    ("member", "Member", 1000, "month"),
    ("sustainer", "Sustainer", 2500, "month"),
    ("annual", "Annual member", 10000, "year"),
)


class InvalidInput(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def format_amount(amount: int, currency: str) -> str:
    symbol = CURRENCY_SYMBOLS.get(currency.lower())
    value = f"{amount / 100:,.2f}".removesuffix(".00")
    return f"{symbol}{value}" if symbol else f"{value} {currency.upper()}"


def tier_price_label(tier: Tier) -> str:
    return f"{format_amount(tier.amount, tier.currency)} a {tier.interval}"


def offered_tiers() -> list[Tier]:
    query = (
        select(Tier)
        .where(Tier.archived.is_(False), Tier.stripe_price_id.is_not(None))
        .order_by(Tier.interval, Tier.amount)
    )
    return list(db.session.execute(query).scalars())


def tier_by_slug(slug: str) -> Tier | None:
    return db.session.execute(select(Tier).where(Tier.slug == slug)).scalar_one_or_none()


def add_tier(
    slug: str,
    *,
    name: str,
    amount: int,
    currency: str,
    interval: str,
    stripe_price: str | None = None,
) -> tuple[Tier, bool]:
    """(tier, created). Idempotent on slug; without a price id, Stripe mode creates the Price."""
    if not re.fullmatch(TIER_SLUG_PATTERN, slug):
        raise InvalidInput("slug", "Use up to 64 lower-case letters, digits, - and _.")
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("name", "The name must be 1 to 200 characters.")
    currency = currency.strip().lower()
    if not re.fullmatch("[a-z]{3}", currency):
        raise InvalidInput("currency", "The currency must be a three-letter ISO code, like usd.")
    existing = tier_by_slug(slug)
    if existing is not None:
        if stripe_price and existing.stripe_price_id != stripe_price:
            existing.stripe_price_id = stripe_price
        return existing, False
    if interval not in INTERVALS:
        raise InvalidInput("interval", "The interval must be month or year.")
    if amount <= 0:
        raise InvalidInput("amount", "The amount must be a positive number of cents.")
    if not stripe_price:
        stripe_price = _new_price_id(slug, name, amount, currency, interval)
    tier = Tier(
        slug=slug,
        name=name,
        amount=amount,
        currency=currency,
        interval=interval,
        stripe_price_id=stripe_price,
    )
    db.session.add(tier)
    return tier, True


def _new_price_id(slug: str, name: str, amount: int, currency: str, interval: str) -> str:
    if not current_app.config.get("STRIPE_SECRET_KEY"):
        return f"price_sim_{slug}"
    price = gateway.create_price(
        amount=amount,
        currency=currency,
        interval=interval,
        name=name,
        slug=slug,
        idempotency_key=f"tier-price-{slug}-{amount}-{currency}-{interval}",
    )
    return price["id"]


def load_demo_tiers() -> list[Tier]:
    """The tiers a fresh `make run` shows; safe to run again."""
    tiers = [
        add_tier(slug, name=name, amount=amount, currency="usd", interval=interval)[0]
        for slug, name, amount, interval in DEMO_TIERS
    ]
    return tiers


def normalise_email(raw: str | None, *, required: bool = True) -> str | None:
    value = (raw or "").strip()
    if not value:
        if required:
            raise InvalidInput("email", "Enter your email address.")
        return None
    try:
        return addresses.normalise_email(value)
    except addresses.InvalidEmail as exc:
        raise InvalidInput("email", "Enter a valid email address, like name@example.com.") from exc


def chosen_tier(slug: str | None) -> Tier:
    tier = tier_by_slug((slug or "").strip()) if slug else None
    if tier is None or tier.archived or not tier.stripe_price_id:
        raise InvalidInput("tier", "Choose one of the membership tiers.")
    return tier


def contribution_cents(raw: str | None) -> int:
    text = (raw or "").strip().lstrip("$").replace(",", "")
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not CONTRIBUTION_MIN <= value <= CONTRIBUTION_MAX or round(value * 100) != value * 100:
        raise InvalidInput(
            "amount",
            f"Enter an amount between {CONTRIBUTION_MIN} and {CONTRIBUTION_MAX:,} dollars.",
        )
    return round(value * 100)


def checkout_idempotency_key(kind: str, *parts: str, attempt: str | None = None) -> str:
    """The same form submitted twice gets the same session; a fresh page load a new one."""
    nonce = (attempt or "").strip()[:64] or str(int(time.time()) // 600)
    digest = hashlib.sha256("|".join((kind, *parts, nonce)).encode()).hexdigest()
    return f"{kind}-{digest[:40]}"


@dataclass(frozen=True)
class WelcomeResult:
    kind: str  # membership, contribution or pending
    tier: Tier | None = None
    outcome: Outcome | None = None


def record_completed_session(session: dict) -> WelcomeResult:
    """The welcome page's share of fulfilment: what the webhook would do for this session.

    The session's own `created` is older than any event about its subscription, so this never
    overrides what an event already told us.
    """
    created = int(session.get("created") or time.time())
    if is_paid_contribution_session(session):
        record_contribution_session(session, created)
        return WelcomeResult("contribution")
    if not is_paid_membership_session(session):
        return WelcomeResult("pending")
    tier = tier_for_metadata(session.get("metadata"))
    if tier is None:
        return WelcomeResult("pending")
    state = checkout_state(session, tier, as_of=created, source="welcome")
    return WelcomeResult("membership", tier, apply_subscription_state(state))


def request_portal_link(email: str) -> bool:
    """Mail a signed link to each customer with this address; the caller answers the same either
    way, so nobody learns who is a member."""
    customers = db.session.execute(
        select(MemberSubscription.customer_id)
        .where(MemberSubscription.email == email.strip().lower())
        .distinct()
    ).scalars()
    sent = False
    for customer_id in customers:
        token = make_token("portal", {"customer": customer_id})
        queue_mail(
            to=email,
            template="membership_portal",
            context={
                "portal_url": external_url(f"/membership/portal/{token}"),
                "hours": PORTAL_LINK_MAX_AGE_SECONDS // 3600,
            },
        )
        sent = True
    return sent
