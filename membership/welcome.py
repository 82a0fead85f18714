"""A member's welcome mail: who is owed one, and the mail itself (queued by fulfilment)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.sql.dml import Insert

from addresses import email_key
from extensions import db
from mailer.services import mail_queueing
from membership.models import MemberEvent, MemberSubscription, Tier
from newsletters import reader_data as newsletter_data
from signing import external_url


def member_welcome(email: str, tier: Tier) -> tuple[Insert, dict]:
    """The welcome's outbox INSERT and its parameters, for fulfilment to run in a statement it
    runs anyway where the database allows (membership.goal.adjust_member_counter)."""
    # Stripe's webhook shows no reader's language: a subscriber's kept one is the best we know.
    return mail_queueing(
        language=newsletter_data.language_of(email_key(email)),
        to=email,
        template="member_welcome",
        context={
            "tier_name": tier.name,
            "manage_url": external_url("/membership/manage"),
            "membership_url": external_url("/membership"),
        },
    )


def queue_member_welcome(email: str, tier: Tier) -> None:
    db.session.execute(*member_welcome(email, tier))


def welcome_owed(customer_id: str, subscription_id: str) -> bool:
    """The customer first became a member through this subscription, before we knew its email
    (so no welcome could be sent then)."""
    own_subscriptions = select(MemberSubscription.stripe_subscription_id).where(
        MemberSubscription.customer_id == customer_id
    )
    first_join = db.session.execute(
        select(MemberEvent.stripe_subscription_id)
        .where(MemberEvent.stripe_subscription_id.in_(own_subscriptions))
        .where(MemberEvent.member_delta > 0)
        .order_by(MemberEvent.occurred_at, MemberEvent.id)
        .limit(1)
    ).scalar_one_or_none()
    return first_join == subscription_id
