"""Small factories for test data (shared with browser tests): staff, lists and readers straight
through the models; members through membership's fulfilment, as Stripe's events make them."""

from __future__ import annotations

import functools
import itertools
from datetime import datetime, timedelta

from database import utcnow
from extensions import db
from membership.fulfilment import SubscriptionState, apply_subscription_state
from membership.models import Contribution, MemberEvent, MemberSubscription, Tier
from membership.services import subscription_by_stripe_id
from newsletters.models import Consent, Newsletter, Subscriber, Subscription
from staff.auth import hash_password
from staff.models import StaffUser

PASSWORD = "correct horse battery staple"
_serial = itertools.count(1)


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # Argon2id is slow on purpose: hash once per test run


def make_staff(email: str, role: str = "editor", active: bool = True) -> StaffUser:
    user = StaffUser(
        email=email,
        email_key=email.lower(),
        password_hash=_password_hash(),
        role=role,
        active=active,
    )
    db.session.add(user)
    db.session.commit()
    return user


def make_newsletter(slug: str, name: str | None = None, **fields) -> Newsletter:
    newsletter = Newsletter(slug=slug, name=name or slug.replace("-", " ").title(), **fields)
    db.session.add(newsletter)
    db.session.commit()
    return newsletter


def make_subscriber(email: str) -> Subscriber:
    subscriber = Subscriber(email=email, email_key=email.lower())
    db.session.add(subscriber)
    db.session.commit()
    return subscriber


def subscribe(
    subscriber: Subscriber,
    newsletter: Newsletter,
    status: str = "confirmed",
    confirmed_at: datetime | None = None,
    unsubscribed_at: datetime | None = None,
) -> Subscription:
    if status == "confirmed" and confirmed_at is None:
        confirmed_at = utcnow()
    subscription = Subscription(
        subscriber_id=subscriber.id,
        newsletter_id=newsletter.id,
        status=status,
        confirmed_at=confirmed_at,
        unsubscribed_at=unsubscribed_at,
    )
    db.session.add(subscription)
    db.session.commit()
    return subscription


def make_consent(
    subscriber: Subscriber, slugs: str, source: str = "page", signed_up_at=None, **fields
) -> Consent:
    consent = Consent(
        subscriber_id=subscriber.id,
        newsletter_slugs=slugs,
        source=source,
        signed_up_at=signed_up_at or utcnow(),
        **fields,
    )
    db.session.add(consent)
    db.session.commit()
    return consent


def make_tier(slug: str, amount: int, currency: str = "usd", interval: str = "month") -> Tier:
    tier = Tier(
        slug=slug,
        name=slug.replace("-", " ").title(),
        amount=amount,
        currency=currency,
        interval=interval,
        stripe_price_id=f"price_{slug}",
    )
    db.session.add(tier)
    db.session.commit()
    return tier


def make_member(
    tier: Tier,
    status: str = "active",
    email: str | None = None,
    customer: str | None = None,
    joined_days_ago: int = 400,
) -> MemberSubscription:
    """A subscription recorded as Stripe's events record one (membership's fulfilment), so the
    stored counter, the join in the history and the welcome mail follow. By default it joined
    long before every window the dashboard shows."""
    number = next(_serial)
    joined = int((utcnow() - timedelta(days=joined_days_ago)).timestamp())
    state = SubscriptionState(
        subscription_id=f"sub_{number}",
        customer_id=customer or f"cus_{number}",
        tier=tier,
        status=status,
        as_of=joined,
        source="customer.subscription.created",
        email=email or f"member{number}@example.org",
        started_at=joined,
    )
    apply_subscription_state(state)
    db.session.commit()
    return subscription_by_stripe_id(state.subscription_id)


def member_event(delta: int, occurred_at: datetime, tier: Tier | None = None) -> MemberEvent:
    number = next(_serial)
    event = MemberEvent(
        stripe_subscription_id=f"sub_{number}",
        customer_id=f"cus_{number}",
        tier_id=tier.id if tier else None,
        event_type="customer.subscription.created"
        if delta > 0
        else "customer.subscription.deleted",
        status="active" if delta > 0 else "canceled",
        member_delta=delta,
        occurred_at=occurred_at,
    )
    db.session.add(event)
    db.session.commit()
    return event


def make_contribution(amount: int, currency: str = "usd") -> Contribution:
    number = next(_serial)
    contribution = Contribution(
        stripe_session_id=f"cs_{number}", amount=amount, currency=currency, occurred_at=utcnow()
    )
    db.session.add(contribution)
    db.session.commit()
    return contribution
