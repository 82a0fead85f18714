"""Membership rules: tiers, reading what readers send, and the "Manage membership" link.

No Flask request objects here; callers commit. Stripe is payments' business: a new tier's price
id comes from the caller (payments hands down `new_price`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from flask_babel import gettext
from sqlalchemy import Row, String, bindparam, select

import addresses
from database import SLUG_PATTERN, held_in_transaction
from extensions import db
from mailer.services import queue_mail
from membership.models import MemberSubscription, Tier
from signing import external_url, make_token, read_token

PORTAL_LINK_MAX_AGE_SECONDS = 24 * 3600
INTERVALS = ("month", "year")
CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "uah": "₴", "cad": "CA$", "aud": "A$"}
# Makes the Stripe Price of a new tier: new_price(slug=, name=, amount=, currency=, interval=).
PriceMaker = Callable[..., str]

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
    return db.session.execute(_TIER_BY_SLUG, {"slug": slug}).scalar_one_or_none()


def tier_values_by_slug(slug: str) -> Row | TierValues | None:
    """tier_by_slug() as read-only values, not an ORM object: id, slug and name, named as a
    Tier names them, which is all an event's handling (and the thanks page) reads. Every Stripe
    event reads its tier and changes none; loading an ORM object cost about twice a plain
    row's CPU. A lookup this transaction already made (tier_lookup_columns) is not made again."""
    looked_up = _looked_up_in_transaction(TIER_BY_SLUG, slug)
    if looked_up is not _NOT_LOOKED_UP:
        return looked_up
    return db.session.execute(_TIER_VALUES_BY_SLUG, {"slug": slug}).one_or_none()


def tier_values_by_price(price_id: str) -> Row | TierValues | None:
    """The tier Stripe's price stands for, as read-only values (see tier_values_by_slug)."""
    looked_up = _looked_up_in_transaction(TIER_BY_PRICE, price_id)
    if looked_up is not _NOT_LOOKED_UP:
        return looked_up
    return db.session.execute(_TIER_VALUES_BY_PRICE, {"price": price_id}).one_or_none()


# An event's tier read in the round trip of a statement the webhook runs anyway (its claim of
# the event), rather than in one of its own: the statement returns tier_lookup_columns(by),
# with tier_lookup_parameters(key) among its parameters, and the caller hands the row back to
# tier_looked_up(). The answer is kept for the current transaction only, so a tier added or
# repriced by `tiers add` counts for the next event at once.
TIER_BY_SLUG = "slug"
TIER_BY_PRICE = "price"
_TIER_LOOKUP_KEY = "tier_lookup_key"
_TIERS_LOOKED_UP = "membership_tiers_looked_up"
_NOT_LOOKED_UP = object()


class TierValues(NamedTuple):
    """A tier's values as tier_values_by_slug() names them, read by another statement."""

    id: int
    slug: str
    name: str


def tier_lookup_columns(by: str) -> list:
    """The tier's id, slug and name (NULL when no tier matches) as columns another statement
    returns; `by` is TIER_BY_SLUG or TIER_BY_PRICE. On SQLite and PostgreSQL alike: scalar
    subqueries, which a RETURNING may hold."""
    key_column = _tiers.c.slug if by == TIER_BY_SLUG else _tiers.c.stripe_price_id
    matches = key_column == bindparam(_TIER_LOOKUP_KEY, type_=String())
    return [
        select(_tiers.c[name]).where(matches).scalar_subquery().label(f"looked_up_tier_{name}")
        for name in ("id", "slug", "name")
    ]


def tier_lookup_parameters(key: str) -> dict:
    return {_TIER_LOOKUP_KEY: key}


def tier_looked_up(by: str, key: str, row) -> None:
    """The row of a statement that returned tier_lookup_columns(by) for `key`."""
    found = None
    if row.looked_up_tier_id is not None:
        found = TierValues(row.looked_up_tier_id, row.looked_up_tier_slug, row.looked_up_tier_name)
    held_in_transaction(_TIERS_LOOKED_UP).add((by, key, found))


def _looked_up_in_transaction(by: str, key: str):
    for looked_up_by, looked_up_key, found in held_in_transaction(_TIERS_LOOKED_UP):
        if looked_up_by == by and looked_up_key == key:
            return found
    return _NOT_LOOKED_UP


def subscription_by_stripe_id(subscription_id: str) -> MemberSubscription | None:
    return db.session.execute(
        _SUBSCRIPTION_BY_STRIPE_ID, {"subscription": subscription_id}
    ).scalar_one_or_none()


# Built once: every Stripe event looks its tier up by one of the _TIER_VALUES_BY_… below.
_TIER_BY_SLUG = select(Tier).where(Tier.slug == bindparam("slug"))
_tiers = Tier.__table__
_TIER_VALUES = select(_tiers.c.id, _tiers.c.slug, _tiers.c.name)
_TIER_VALUES_BY_SLUG = _TIER_VALUES.where(_tiers.c.slug == bindparam("slug"))
_TIER_VALUES_BY_PRICE = _TIER_VALUES.where(_tiers.c.stripe_price_id == bindparam("price"))
_SUBSCRIPTION_BY_STRIPE_ID = select(MemberSubscription).where(
    MemberSubscription.stripe_subscription_id == bindparam("subscription")
)


def customer_subscriptions(customer_id: str) -> list[MemberSubscription]:
    query = (
        select(MemberSubscription)
        .where(MemberSubscription.customer_id == customer_id)
        .order_by(MemberSubscription.created_at)
    )
    return list(db.session.execute(query).scalars())


def add_tier(
    slug: str,
    *,
    name: str,
    amount: int,
    currency: str,
    interval: str,
    stripe_price: str | None = None,
    new_price: PriceMaker,
) -> tuple[Tier, bool]:
    """(tier, created). Idempotent on slug; without a price id, new_price() makes one."""
    if not re.fullmatch(SLUG_PATTERN, slug):
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
        stripe_price = new_price(
            slug=slug, name=name, amount=amount, currency=currency, interval=interval
        )
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


def load_demo_tiers(new_price: PriceMaker) -> list[Tier]:
    """The tiers a fresh `make run` shows; safe to run again."""
    return [
        add_tier(
            slug, name=name, amount=amount, currency="usd", interval=interval, new_price=new_price
        )[0]
        for slug, name, amount, interval in DEMO_TIERS
    ]


def read_email(raw: str | None, *, required: bool = True) -> str | None:
    """A form's email field: the normalised address, or InvalidInput with the reader's message."""
    value = (raw or "").strip()
    if not value:
        if required:
            raise InvalidInput("email", gettext("Enter your email address."))
        return None
    try:
        return addresses.normalise_email(value)
    except addresses.InvalidEmail as exc:
        message = gettext("Enter a valid email address, like name@example.com.")
        raise InvalidInput("email", message) from exc


def chosen_tier(slug: str | None) -> Tier:
    tier = tier_by_slug((slug or "").strip()) if slug else None
    if tier is None or tier.archived or not tier.stripe_price_id:
        raise InvalidInput("tier", gettext("Choose one of the membership tiers."))
    return tier


def request_portal_link(email: str) -> bool:
    """Mail the address one message: a signed link for each Stripe customer with that address,
    or, for an address with no membership, a message saying so.

    Members and strangers cost the same (one query, one message rendered and queued), so the
    answer's timing tells nobody who is a member; the caller's answer is the same too.
    """
    customers = db.session.execute(
        select(MemberSubscription.customer_id)
        .where(MemberSubscription.email == addresses.email_key(email))
        .distinct()
        .order_by(MemberSubscription.customer_id)
    ).scalars()
    portal_urls = [portal_url(customer_id) for customer_id in customers]
    queue_mail(
        to=email,
        template="membership_portal",
        context={"portal_urls": portal_urls, "hours": PORTAL_LINK_MAX_AGE_SECONDS // 3600},
    )
    return bool(portal_urls)


def portal_url(customer_id: str) -> str:
    """A "Manage membership" link for the customer, valid PORTAL_LINK_MAX_AGE_SECONDS."""
    token = make_token("portal", {"customer": customer_id})
    return external_url(f"/membership/portal/{token}")


class InvalidPortalLink(Exception):
    pass


def portal_customer(token: str) -> str:
    """The customer a "Manage membership" link was made for; TokenExpired, TokenInvalid, or
    InvalidPortalLink for a signed payload that names no customer."""
    payload = read_token("portal", token, PORTAL_LINK_MAX_AGE_SECONDS)
    customer = payload.get("customer") if isinstance(payload, dict) else None
    if not isinstance(customer, str) or not 0 < len(customer) <= 255 or "\x00" in customer:
        raise InvalidPortalLink()
    return customer
