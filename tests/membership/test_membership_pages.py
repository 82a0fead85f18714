"""The goal, everywhere it shows: the page, /api/goal, the widget, the SVG badge."""

import re

from extensions import db
from membership.goal import GOAL_SETTING
from membership.models import AppSetting
from tests.stripe_helpers import make_event, post_event, subscription


def add_members(client, how_many: int) -> None:
    for n in range(how_many):
        event = make_event("customer.subscription.created", subscription(f"sub_{n}", f"cus_{n}"))
        assert post_event(client, event).status_code == 200


def test_the_membership_page_shows_goal_count_bar_tiers_join_form_and_who_counts(client, tiers):
    add_members(client, 2)
    response = client.get("/membership")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>2</strong> of 20,000 members" in page
    assert re.search(r'<progress[^>]+max="20000" value="2"', page)
    assert "Member: $10 a month" in page
    assert "Annual member: $100 a year" in page
    assert 'action="/membership/checkout"' in page and "novalidate" in page
    assert 'for="join-email"' in page
    assert "A member is one person (one Stripe customer)" in page
    assert "style=" not in page  # the CSP forbids inline styles


def test_the_membership_page_says_test_mode_when_no_stripe_key_is_set(client, tiers):
    assert b"Test mode: no payment is taken" in client.get("/membership").data


def test_the_membership_page_in_stripe_mode_has_no_test_mode_note(make_app):
    app = make_app(STRIPE_SECRET_KEY="sk_test_x")
    assert b"Test mode" not in app.test_client().get("/membership").data


def test_api_goal_answers_members_goal_percent_and_time(client, tiers):
    add_members(client, 3)
    with client.application.app_context():
        db.session.add(AppSetting(key=GOAL_SETTING, value="7"))
        db.session.commit()
    body = client.get("/api/goal").get_json()
    assert set(body) == {"members", "goal", "percent", "updated_at", "definition"}
    assert (body["members"], body["goal"], body["percent"]) == (3, 7, 42.86)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["updated_at"])


def test_the_widget_may_be_framed_by_the_embed_origins(client):
    response = client.get("/membership/widget")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://outlet.example" in csp
    assert "X-Frame-Options" not in response.headers


def test_the_membership_page_itself_may_not_be_framed(client):
    csp = client.get("/membership").headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp


def test_the_svg_badge_is_an_svg_image_cached_briefly(client, tiers):
    add_members(client, 1)
    response = client.get("/membership/progress.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "public, max-age=5"
    assert b"1 of 20,000 members" in response.data
    assert b"<svg" in response.data
