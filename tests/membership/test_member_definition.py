"""What a member is, said once: the membership page, /api/goal and the staff dashboard show the
same sentence, and it names exactly the statuses the counter counts."""

from __future__ import annotations

import html
import re

from flask import Flask

from membership.definition import STATUS_WORDS
from tests.staff.conftest import sign_in
from tests.staff.factories import make_staff
from tests.stripe_helpers import make_event, post_event, subscription

# Every status Stripe gives a subscription.
STRIPE_STATUSES = (
    "active",
    "trialing",
    "past_due",
    "unpaid",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "paused",
)


def _definition_on(page: str) -> str:
    found = re.search(r'id="member-definition">(.*?)</p>', page, flags=re.S)
    assert found, "the page shows no definition"
    return html.unescape(found.group(1))


def test_the_page_the_api_and_the_dashboard_show_the_same_sentence(app: Flask, tiers):
    api = app.test_client().get("/api/goal").get_json()["definition"]
    page = _definition_on(app.test_client().get("/membership").get_data(as_text=True))
    make_staff("editor@newsroom.test")
    staff = app.test_client()
    sign_in(staff, "editor@newsroom.test")
    dashboard = _definition_on(staff.get("/staff/").get_data(as_text=True))
    assert api == page == dashboard
    assert api.startswith("A member is one person (one Stripe customer)")


def test_the_sentence_names_exactly_the_statuses_the_counter_counts(app: Flask, tiers):
    client = app.test_client()
    counted = []
    for number, status in enumerate(STRIPE_STATUSES):
        before = client.get("/api/goal").get_json()["members"]
        sub = subscription(f"sub_{number}", f"cus_{number}", status=status)
        post_event(client, make_event("customer.subscription.created", sub))
        if client.get("/api/goal").get_json()["members"] > before:
            counted.append(status)
    definition = client.get("/api/goal").get_json()["definition"]
    assert sorted(counted) == sorted(STATUS_WORDS)  # every counted status has words, no more
    for status in counted:
        assert str(STATUS_WORDS[status]) in definition


def test_the_sentence_names_the_grace_period_of_a_failed_payment(client):
    definition = client.get("/api/goal").get_json()["definition"]
    assert "past due (a payment failed and Stripe is still retrying it" in definition
    assert "grace period" in definition


def test_the_sentence_says_refunds_and_disputes_do_not_change_the_count(client):
    definition = client.get("/api/goal").get_json()["definition"]
    assert "a refund or a lost payment dispute does not change it" in definition


def test_the_api_speaks_ukrainian_when_asked_and_matches_the_ukrainian_page(client, tiers):
    api = client.get("/api/goal", headers={"Accept-Language": "uk"})
    definition = api.get_json()["definition"]
    assert definition.startswith("Учасник — це одна людина")
    assert "пільговий період" in definition
    assert "Accept-Language" in api.headers["Vary"]
    page = client.get("/membership?lang=uk").get_data(as_text=True)
    assert _definition_on(page) == definition
