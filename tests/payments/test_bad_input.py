"""Bad input found by fuzzing checkout and the webhook: 400, or a signed event of odd shape
recorded as malformed with 200 (a 500 would have Stripe deliver it again for three days)."""

from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import select

from extensions import db
from membership.models import MemberSubscription
from payments.models import ProcessedEvent
from tests.stripe_helpers import (
    WEBHOOK_SECRET,
    checkout_session,
    make_event,
    post_event,
    subscription,
)


def post_signed_body(client, body: str):
    import stripe

    header = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET)
    return client.post(
        "/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def recorded(event_id: str) -> ProcessedEvent | None:
    db.session.expire_all()
    return db.session.get(ProcessedEvent, event_id)


def test_a_tier_with_a_nul_character_is_400(client, tiers):
    response = client.post(
        "/membership/checkout", data={"tier": "sup\x00porter", "email": "reader@example.com"}
    )
    assert response.status_code == 400


def test_a_signature_header_that_is_not_ascii_is_400(client):
    response = client.post(
        "/stripe/webhook",
        data=b"{}",
        headers={"Stripe-Signature": "t=1,v1=\u00e9", "Content-Type": "application/json"},
    )
    assert response.status_code == 400


def test_a_signed_body_nested_too_deeply_is_400(client):
    assert post_signed_body(client, "[" * 5000 + "]" * 5000).status_code == 400


@pytest.mark.parametrize(
    "event_id", ["evt_" + "x" * 300, "evt_\x00", ""], ids=["too long", "nul", "empty"]
)
def test_an_event_whose_id_cannot_be_recorded_is_400(client, tiers, event_id):
    event = make_event("customer.subscription.updated", subscription())
    event["id"] = event_id
    assert post_event(client, event).status_code == 400


ODD_SUBSCRIPTIONS = {
    "created as text": lambda event: event.update(created="yesterday"),
    "created past the year 9999": lambda event: event.update(created=10**30),
    "metadata not an object": lambda event: event["data"]["object"].update(metadata=[1]),
    "an address over 320 characters": lambda event: event["data"]["object"].update(
        metadata={"email": "a" * 330 + "@example.com"}
    ),
    "a subscription id over 255 characters": lambda event: event["data"]["object"].update(
        id="sub_" + "x" * 300
    ),
    "a customer id with a NUL": lambda event: event["data"]["object"].update(customer="cus\x00"),
    "items not a list": lambda event: event["data"]["object"].update(items={"data": "x"}),
}


@pytest.mark.parametrize("change", ODD_SUBSCRIPTIONS.values(), ids=ODD_SUBSCRIPTIONS.keys())
def test_a_signed_subscription_event_of_odd_shape_is_recorded_as_malformed(
    client, tiers, member_count, change
):
    event = make_event("customer.subscription.updated", subscription())
    change(event)
    response = post_event(client, event)
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "malformed"
    assert recorded(event["id"]).outcome == "malformed"
    assert member_count() == 0


def test_created_as_infinity_is_recorded_as_malformed(client, tiers):
    event = make_event("customer.subscription.updated", subscription())
    body = json.dumps(event).replace(f'"created": {event["created"]}', '"created": Infinity')
    assert math.inf == json.loads(body)["created"]
    response = post_signed_body(client, body)
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "malformed"


ODD_SESSIONS = {
    "metadata a string": lambda session: session.update(metadata="member"),
    "an address over 320 characters": lambda session: session["customer_details"].update(
        email="a" * 330 + "@example.com"
    ),
    "an amount past INTEGER": lambda session: session.update(amount_total=2**40),
    "a currency of four letters": lambda session: session.update(currency="usdx"),
}


@pytest.mark.parametrize("change", ODD_SESSIONS.values(), ids=ODD_SESSIONS.keys())
def test_a_signed_checkout_event_of_odd_shape_is_recorded_as_malformed(client, tiers, change):
    session = checkout_session()
    change(session)
    event = make_event("checkout.session.completed", session)
    response = post_event(client, event)
    assert (response.status_code, response.get_json()["outcome"]) == (200, "malformed")
    assert db.session.execute(select(MemberSubscription)).first() is None


def test_a_malformed_event_delivered_again_is_a_duplicate(client, tiers):
    event = make_event("customer.subscription.updated", subscription())
    event["data"]["object"]["metadata"] = "not an object"
    post_event(client, event)
    assert post_event(client, event).get_json()["outcome"] == "duplicate"


def test_an_odd_event_is_logged_by_id_and_field(client, tiers, caplog):
    event = make_event("customer.subscription.updated", subscription())
    event["data"]["object"]["metadata"] = "not an object"
    post_event(client, event)
    assert f"{event['id']}" in caplog.text and "data.object.metadata" in caplog.text


def test_an_ignored_event_type_with_odd_fields_is_still_answered_200(client):
    event = make_event("customer.created", {"id": "cus_1", "metadata": "x" * 10})
    response = post_event(client, event)
    assert (response.status_code, response.get_json()["outcome"]) == (200, "ignored")
