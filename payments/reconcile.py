"""Repairing local member state from Stripe's own list of subscriptions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from extensions import db
from membership.fulfilment import apply_subscription_state, timestamp
from membership.goal import addresses_counted_more_than_once
from membership.models import MemberSubscription
from membership.services import subscription_by_stripe_id
from payments import gateway
from payments.customers import remember_customer
from payments.handlers import stripe_id, subscription_state, subscription_tier

FINAL_STATUSES = ("canceled",)


@dataclass
class ReconcileReport:
    checked: int = 0
    changed: int = 0
    ignored: int = 0
    # (address, members): one reader held by several counting customers, counted that often.
    counted_more_than_once: list[tuple[str, int]] = field(default_factory=list)


def _customer_email(subscription: dict) -> str | None:
    customer = subscription.get("customer")
    return customer.get("email") if isinstance(customer, dict) else None


def _differs(row: MemberSubscription | None, subscription: dict, tier_id: int) -> bool:
    if row is None:
        return True
    if row.deleted:
        return False  # deleted is final, even for reconcile
    if row.email is None and row.email_erased_at is None and _customer_email(subscription):
        return True  # an address learned late (an erased one is not learned again)
    items = (subscription.get("items") or {}).get("data") or []
    ends = [item["current_period_end"] for item in items if item.get("current_period_end")]
    period_end = timestamp(max(ends)) if ends else None
    return (
        row.status != subscription.get("status")
        or row.tier_id != tier_id
        or row.current_period_end != period_end
        or row.customer_id != stripe_id(subscription.get("customer"))
    )


def reconcile(*, as_of: int, echo: Callable[[str], None]) -> ReconcileReport:
    """Stripe's answer, as of now, wins over whatever events said; one commit per page item."""
    report = ReconcileReport()
    for subscription in gateway.iter_subscriptions():
        report.checked += 1
        tier = subscription_tier(subscription)
        if tier is None or not subscription.get("customer"):
            report.ignored += 1
            continue
        email = _customer_email(subscription)
        remember_customer(stripe_id(subscription.get("customer")), email)
        row = subscription_by_stripe_id(subscription["id"])
        if not _differs(row, subscription, tier.id):
            db.session.commit()
            continue
        state = subscription_state(
            subscription,
            tier,
            as_of=as_of,
            source="reconcile",
            final=subscription.get("status") in FINAL_STATUSES,
            email=email,
        )
        outcome = apply_subscription_state(state)
        db.session.commit()
        if outcome.applied:
            report.changed += 1
            delta = f" (members {outcome.member_delta:+d})" if outcome.member_delta else ""
            echo(
                f"{subscription['id']} {state.customer_id}: "
                f"{outcome.previous_status or 'unknown'} -> {outcome.status}{delta}"
            )
    report.counted_more_than_once = addresses_counted_more_than_once()
    return report
