"""Random histories of Stripe events, delivered shuffled and repeated, against the contract's rule.

The rule, computed here by hand: per subscription the newest event (by `created`) wins, a tie
goes to the later arrival, `customer.subscription.deleted` is final whenever it arrives, a paid
checkout session counts as `active` as of its `created`, and invoices, unpaid sessions and
prices that are no tier of ours change nothing. A member is a customer with at least one
subscription in active, trialing or past_due. The stored counter must equal that number.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import func, select

from extensions import db
from mailer.models import OutboxMessage
from membership.goal import count_members, count_members_exactly
from membership.models import MemberEvent
from tests.stripe_helpers import (
    ANNUAL_PRICE,
    FOREIGN_PRICE,
    MEMBER_PRICE,
    checkout_session,
    invoice,
    make_event,
    post_event,
    subscription,
)

STATUSES = ("active", "trialing", "past_due", "incomplete", "unpaid", "canceled", "paused")
COUNTING = {"active", "trialing", "past_due"}
CUSTOMERS = ("cus_a", "cus_b", "cus_c", "cus_d")


def _with_an_add_on(obj: dict) -> dict:
    """A subscription that also carries a price not ours, listed before the tier's."""
    ours = obj["items"]["data"][0]
    add_on = {
        **ours,
        "id": f"si_{obj['id']}_addon",
        "price": {**ours["price"], "id": FOREIGN_PRICE},
    }
    obj["items"]["data"] = [add_on, ours]
    return obj


def _subscription_events(rng: random.Random, sub_id: str, customer: str) -> list[dict]:
    price = rng.choice((MEMBER_PRICE, ANNUAL_PRICE))
    email = f"{customer}@example.com"
    add_on = rng.random() < 0.3
    events = []
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(("created", "updated", "updated", "checkout", "invoice", "unpaid"))
        created = rng.randint(100, 112)  # a narrow range, so ties are common
        if kind == "checkout":
            obj = checkout_session(f"cs_{sub_id}", customer=customer, subscription_id=sub_id)
            obj["customer_details"]["email"] = email
            events.append(make_event("checkout.session.completed", obj, created=created))
        elif kind == "unpaid":
            obj = checkout_session(
                f"cs_{sub_id}_u", customer=customer, subscription_id=sub_id, payment_status="unpaid"
            )
            events.append(make_event("checkout.session.completed", obj, created=created))
        elif kind == "invoice":
            obj = invoice(f"in_{sub_id}_{created}", subscription_id=sub_id, customer=customer)
            event_type = rng.choice(("invoice.paid", "invoice.payment_failed"))
            events.append(make_event(event_type, obj, created=created))
        else:
            obj = subscription(
                sub_id, customer, status=rng.choice(STATUSES), price=price, email=email
            )
            obj = _with_an_add_on(obj) if add_on else obj
            events.append(make_event(f"customer.subscription.{kind}", obj, created=created))
    if rng.random() < 0.35:
        obj = subscription(sub_id, customer, status="canceled", price=price, email=email)
        created = rng.randint(100, 112)
        events.append(make_event("customer.subscription.deleted", obj, created=created))
    return events


def _foreign_events(rng: random.Random, sub_id: str, customer: str) -> list[dict]:
    obj = subscription(sub_id, customer, status="active", price=FOREIGN_PRICE)
    return [make_event("customer.subscription.created", obj, created=rng.randint(100, 112))]


def _history(seed: int) -> list[dict]:
    rng = random.Random(seed)
    events = []
    for n in range(7):
        customer = rng.choice(CUSTOMERS)
        events += _subscription_events(rng, f"sub_{seed}_{n}", customer)
    events += _foreign_events(rng, f"sub_{seed}_foreign", rng.choice(CUSTOMERS))
    deliveries = events + [rng.choice(events) for _ in range(len(events) // 3)]  # retries
    rng.shuffle(deliveries)
    return deliveries


def _status_change(event: dict) -> tuple[str, str, str] | None:
    """(subscription, customer, status) this event asserts, or None when it changes nothing."""
    obj = event["data"]["object"]
    if event["type"] == "checkout.session.completed":
        if obj["payment_status"] != "paid":
            return None
        return obj["subscription"], obj["customer"], "active"
    if event["type"].startswith("customer.subscription."):
        if all(item["price"]["id"] == FOREIGN_PRICE for item in obj["items"]["data"]):
            return None
        return obj["id"], obj["customer"], obj["status"]
    return None


def expected_members(deliveries: list[dict]) -> int:
    seen: set[str] = set()
    state: dict[str, dict] = {}
    for event in deliveries:
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        change = _status_change(event)
        if change is None:
            continue
        sub_id, customer, status = change
        current = state.get(sub_id)
        if current is not None and current["deleted"]:
            continue
        deleted = event["type"] == "customer.subscription.deleted"
        if current is None or deleted or event["created"] >= current["created"]:
            state[sub_id] = {
                "customer": customer,
                "status": status,
                "created": event["created"],
                "deleted": deleted,
            }
    return len(
        {s["customer"] for s in state.values() if s["status"] in COUNTING and not s["deleted"]}
    )


@pytest.mark.parametrize("seed", range(12))
def test_the_counter_follows_the_newest_event_rule_for_any_order_of_arrival(client, tiers, seed):
    deliveries = _history(seed)
    for event in deliveries:
        assert post_event(client, event).status_code == 200
        assert count_members() == count_members_exactly()
    assert count_members() == count_members_exactly() == expected_members(deliveries)
    history = db.session.execute(select(func.sum(MemberEvent.member_delta))).scalar_one()
    assert (history or 0) == count_members_exactly()  # growth charts add up to the count
    welcomes = Counter(
        db.session.execute(
            select(OutboxMessage.to_addr).where(OutboxMessage.kind == "member_welcome")
        ).scalars()
    )
    assert all(times == 1 for times in welcomes.values()), welcomes
