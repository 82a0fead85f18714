"""A reader joins and a staff member signs in, through the real forms in Chromium."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from database import utcnow
from extensions import db
from membership.goal import goal_progress
from membership.models import MemberEvent, MemberSubscription
from newsletters.models import Consent, Newsletter, Subscriber, Subscription
from staff.sqltime import start_of_day
from tests.staff.factories import (
    PASSWORD,
    make_contribution,
    make_newsletter,
    make_staff,
    make_tier,
)


@pytest.fixture
def app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)  # the real form, token and all


def _a_membership_drive(app) -> int:
    """Ninety days of joins and cancellations, and the members they add up to."""
    rng = random.Random(20000)
    today = utcnow().date()
    with app.app_context():
        make_staff("admin@newsroom.test", role="admin")
        daily = make_newsletter("daily", name="The Daily")
        _signups(daily, rng, today)
        tiers = [
            make_tier("supporter", 500),
            make_tier("patron", 1500),
            make_tier("annual", 9000, interval="year"),
        ]
        events, members = [], 0
        for days_ago in range(89, -1, -1):
            at = start_of_day(today - timedelta(days=days_ago)) + timedelta(seconds=1)
            joins, cancellations = rng.randint(0, 7), rng.randint(0, 2)
            members += joins - cancellations
            events += [{"delta": 1, "at": at}] * joins + [{"delta": -1, "at": at}] * cancellations
        db.session.execute(
            insert(MemberEvent),
            [
                {
                    "stripe_subscription_id": f"sub_{n}",
                    "customer_id": f"cus_{n}",
                    "event_type": "customer.subscription.updated",
                    "status": "active" if event["delta"] > 0 else "canceled",
                    "member_delta": event["delta"],
                    "occurred_at": event["at"],
                    "recorded_at": event["at"],
                }
                for n, event in enumerate(events)
            ],
        )
        db.session.execute(
            insert(MemberSubscription),
            [
                {
                    "stripe_subscription_id": f"sub_live_{n}",
                    "customer_id": f"cus_live_{n}",
                    "email": f"member{n}@example.org",
                    "tier_id": tiers[n % 3].id,
                    "status": "active",
                    "status_event_created": 0,
                    "deleted": False,
                }
                for n in range(members)
            ],
        )
        db.session.commit()
        make_contribution(2500)
        return goal_progress().members


def _signups(newsletter, rng, today) -> None:
    statuses = ["confirmed"] * 6 + ["pending"] * 3 + ["unsubscribed"]
    sources = ["page"] * 5 + ["embed"] * 3 + ["api"] * 2
    readers = []
    for n in range(120):
        at = start_of_day(today - timedelta(days=rng.randint(0, 55))) + timedelta(hours=9)
        readers.append(
            (n + 1, f"reader{n}@example.org", at, rng.choice(statuses), rng.choice(sources))
        )
    db.session.execute(
        insert(Subscriber),
        [
            {"id": n, "email": email, "email_key": email, "created_at": at}
            for n, email, at, _, _ in readers
        ],
    )
    db.session.execute(
        insert(Subscription),
        [
            {
                "subscriber_id": n,
                "newsletter_id": newsletter.id,
                "status": status,
                "created_at": at,
                "updated_at": at,
                "confirmed_at": at if status != "pending" else None,
            }
            for n, _, at, status, _ in readers
        ],
    )
    db.session.execute(
        insert(Consent),
        [
            {
                "subscriber_id": n,
                "newsletter_slugs": newsletter.slug,
                "source": source,
                "signed_up_at": at,
            }
            for n, _, at, _, source in readers
        ],
    )
    db.session.commit()


def _join_in_the_browser(page, live_server, email: str) -> None:
    """/membership → a tier and an address → the test-mode checkout → Pay → the welcome page."""
    page.goto(live_server + "/membership")
    page.get_by_label("Supporter").check()
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_role("button", name="Become a member").click()
    page.wait_for_url("**/membership/simulated-checkout/**")
    assert page.get_by_text("Test mode: no payment is taken").is_visible()
    page.get_by_role("button", name="Pay (test mode)").click()
    page.wait_for_url("**/membership/welcome?session_id=**")
    assert page.get_by_role("heading", name="Welcome, and thank you").is_visible()


def _sign_in(page, live_server) -> None:
    page.goto(live_server + "/staff/")
    assert "/staff/login" in page.url
    page.get_by_label("Email").fill("admin@newsroom.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + "/staff/")


def test_a_reader_joins_in_the_browser_and_staff_see_the_public_count_and_the_chart(
    app, live_server, page, screenshot, blocked_content
):
    members_before = _a_membership_drive(app)

    _join_in_the_browser(page, live_server, "new.member@example.org")
    _sign_in(page, live_server)

    public = page.request.get(live_server + "/api/goal").json()["members"]
    shown = int(page.locator("#members-count").get_attribute("data-members"))
    assert public == shown == members_before + 1
    assert page.locator("#members-count").inner_text() == f"{shown:,}"
    assert page.locator("progress#goal-progress").get_attribute("value") == str(shown)
    assert int(page.locator("#week-joins").inner_text()) >= 1

    chart = page.locator("#growth-chart")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box["width"] > 600 and box["height"] > 200
    assert page.locator("#growth-chart path.members-line").count() == 1
    assert page.locator("#growth-chart rect").count() > 50
    assert page.locator("#growth-chart > title").text_content().startswith("Members over")
    screenshot("staff-dashboard")
    assert blocked_content == []


def test_every_staff_page_renders_without_blocked_content(
    app, live_server, page, screenshot, blocked_content, accessibility_gaps, focus_outline
):
    _a_membership_drive(app)
    with app.app_context():
        list_id = db.session.scalar(select(Newsletter.id))
        subscriber_id = db.session.scalar(select(Subscriber.id).order_by(Subscriber.id))
    page.goto(live_server + "/staff/login")
    assert accessibility_gaps(page) == []
    _sign_in(page, live_server)
    for path in [
        "/staff/?days=365",
        "/staff/lists",
        f"/staff/lists/{list_id}",
        f"/staff/lists/{list_id}/edit",
        "/staff/lists/new",
        "/staff/people",
        "/staff/people?kind=members",
        f"/staff/people/subscribers/{subscriber_id}",
        "/staff/settings/goal",
        "/staff/audit",
    ]:
        response = page.goto(live_server + path)
        assert response.status == 200, path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
        assert page.locator("h1").count() == 1, path
        assert accessibility_gaps(page) == [], path
    page.goto(live_server + "/staff/")
    for _ in range(3):  # the skip link, the site name, the first menu item: each shows focus
        page.keyboard.press("Tab")
        assert focus_outline(page) == "solid", page.evaluate("document.activeElement.outerHTML")
    page.set_viewport_size({"width": 360, "height": 740})  # a phone: tables and charts scroll
    for path in ["/staff/", "/staff/lists", "/staff/people?kind=members", "/staff/audit"]:
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        for label in page.locator("svg text").all():
            assert label.bounding_box()["height"] >= 9, (path, label.text_content())
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/staff/lists")
    assert page.locator("#lists-table").get_by_role("link", name="The Daily").is_visible()
    assert page.locator(".signups-chart rect").count() > 0
    screenshot("staff-lists")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/staff/login")
    page.goto(live_server + "/staff/")
    assert "/staff/login" in page.url
    assert blocked_content == []
