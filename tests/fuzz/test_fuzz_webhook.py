"""Signed Stripe events of random shape: handled, ignored, malformed or refused, never a 5xx
(Stripe would deliver a 5xx again for three days)."""

from __future__ import annotations

import json

import stripe
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.strategies import awkward_text, json_values
from tests.stripe_helpers import (
    WEBHOOK_SECRET,
    checkout_session,
    invoice,
    make_event,
    subscription,
)

OBJECTS = {
    "checkout.session.completed": checkout_session,
    "customer.subscription.created": subscription,
    "customer.subscription.updated": subscription,
    "customer.subscription.deleted": subscription,
    "invoice.paid": invoice,
    "invoice.payment_failed": invoice,
}
# Where the handlers look, so changes land where they matter as often as anywhere else.
READ_PATHS = [
    ("id",),
    ("created",),
    ("type",),
    ("data",),
    ("data", "object"),
    ("data", "object", "id"),
    ("data", "object", "customer"),
    ("data", "object", "subscription"),
    ("data", "object", "status"),
    ("data", "object", "metadata"),
    ("data", "object", "metadata", "email"),
    ("data", "object", "metadata", "tier_slug"),
    ("data", "object", "items"),
    ("data", "object", "items", "data"),
    ("data", "object", "customer_details"),
    ("data", "object", "customer_details", "email"),
    ("data", "object", "amount_total"),
    ("data", "object", "currency"),
    ("data", "object", "mode"),
    ("data", "object", "payment_status"),
    ("data", "object", "parent"),
    ("data", "object", "lines"),
    ("data", "object", "status_transitions"),
    ("data", "object", "start_date"),
]
# One or two changes: more would mostly break what the handlers check first (type, tier).
changes = st.lists(
    st.tuples(
        st.sampled_from(READ_PATHS) | st.lists(awkward_text, min_size=1, max_size=3), json_values
    ),
    min_size=1,
    max_size=2,
)


def changed(event: dict, path, value) -> None:
    target = event
    for key in path[:-1]:
        if not isinstance(target, dict):
            return
        target = target.setdefault(key, {})
    if isinstance(target, dict):
        target[path[-1]] = value


@st.composite
def odd_events(draw) -> str:
    event_type = draw(st.sampled_from(sorted(OBJECTS)))
    event = make_event(event_type, OBJECTS.get(event_type, subscription)())
    for path, value in draw(changes):
        changed(event, tuple(path), value)
    if draw(st.integers(0, 9)):
        return json.dumps(event)
    return json.dumps(draw(json_values))  # not an event at all, yet signed


def test_signed_events_of_any_shape_never_answer_5xx(client, tiers):
    @settings(max_examples=settings().max_examples * 4)  # one endpoint, many shapes
    @given(odd_events())
    def check(body: str):
        header = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET)
        response = client.post(
            "/stripe/webhook",
            data=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )
        assert response.status_code < 500, (body[:500], response.status_code)

    check()


def test_random_signature_headers_never_answer_5xx(client):
    @given(awkward_text)
    def check(header: str):
        response = client.post(
            "/stripe/webhook",
            data=b"{}",
            headers={"Stripe-Signature": " ".join(header.encode().decode("latin-1").splitlines())},
        )
        assert response.status_code == 400

    check()
