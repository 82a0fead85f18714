"""The dashboard's figures after members join and leave through the real (simulated) flows.

No factories for members here: readers pay on the simulated checkout, which plays Stripe's
signed events through the webhook code, and leave through the simulated Customer Portal or a
signed customer.subscription.deleted event.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from database import utcnow
from extensions import db
from mailer.models import OutboxMessage
from mailer.services import preview
from membership.models import MemberSubscription
from staff import stats
from tests.staff.conftest import sign_in
from tests.staff.factories import make_staff
from tests.stripe_helpers import (
    ANNUAL_PRICE,
    join_via_checkout,
    make_event,
    post_event,
    subscription,
)


def _cancel_in_portal(client, email: str) -> None:
    """ "Manage membership" → the mailed link → the simulated portal's Cancel button."""
    client.post("/membership/manage", data={"email": email})
    db.session.expire_all()
    mail = (
        db.session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "membership_portal", OutboxMessage.to_addr == email)
            .order_by(OutboxMessage.id.desc())
        )
        .scalars()
        .first()
    )
    text = preview(mail).text_body
    portal = re.search(r"http://newsroom\.test(/membership/portal/\S+)", text).group(1)
    page = client.get(portal).get_data(as_text=True)
    subscription_id = re.search(r'name="subscription" value="([^"]+)"', page).group(1)
    canceled = client.post(portal + "/cancel", data={"subscription": subscription_id})
    assert canceled.status_code == 303


def _figure(page: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page).group(1)


@pytest.fixture
def drive_through_real_flows(app, tiers):
    """Three readers join (two monthly, one yearly); one monthly member cancels in the portal."""
    reader = app.test_client()
    assert join_via_checkout(reader, "olena@example.org", "member").status_code == 200
    assert join_via_checkout(reader, "taras@example.org", "member").status_code == 200
    assert join_via_checkout(reader, "iryna@example.org", "annual").status_code == 200
    _cancel_in_portal(reader, "taras@example.org")
    make_staff("editor@newsroom.test")
    staff = app.test_client()
    assert sign_in(staff, "editor@newsroom.test").status_code == 302
    return reader, staff


def test_the_dashboard_member_figure_is_the_public_count(drive_through_real_flows):
    reader, staff = drive_through_real_flows
    page = staff.get("/staff/").get_data(as_text=True)
    public = reader.get("/api/goal").get_json()
    assert public["members"] == 2
    assert f'data-members="{public["members"]}"' in page
    assert f'data-goal="{public["goal"]}"' in page


def test_this_weeks_joins_and_cancellations_are_the_readers_who_came_and_went(
    drive_through_real_flows,
):
    _, staff = drive_through_real_flows
    page = staff.get("/staff/").get_data(as_text=True)
    assert _figure(page, "week-joins") == "3"
    assert _figure(page, "week-cancellations") == "1"
    assert _figure(page, "week-net") == "+2"


def test_the_growth_chart_starts_from_nobody_and_ends_on_the_count(drive_through_real_flows):
    _, staff = drive_through_real_flows
    series = stats.member_growth(30, 2, utcnow().date())
    assert series[0].members == 0 and series[-1].members == 2
    assert (series[-1].joins, series[-1].cancellations) == (3, 1)
    page = staff.get("/staff/?days=30").get_data(as_text=True)
    assert "3 joined and 1 cancelled in all" in page


def test_the_pace_is_the_net_of_those_joins_and_cancellations(drive_through_real_flows):
    _, staff = drive_through_real_flows
    page = staff.get("/staff/").get_data(as_text=True)
    assert "+0.07 members/day" in page  # (3 − 1) / 30 days


def test_monthly_recurring_revenue_counts_the_members_left(drive_through_real_flows):
    _, staff = drive_through_real_flows
    page = staff.get("/staff/").get_data(as_text=True)
    table = re.search(r'<table class="figures" id="mrr-table">.*?</table>', page, re.S).group(0)
    rows = re.findall(
        r'<tr><th scope="row">([^<]+)</th>.*?<td class="num">([^<]+)</td></tr>', table
    )
    assert rows == [("Member", "10.00 USD"), ("Annual member", "8.33 USD")]
    assert "18.33 USD" in table


def test_a_signed_subscription_deleted_event_moves_every_figure(drive_through_real_flows):
    reader, staff = drive_through_real_flows
    annual = db.session.execute(
        select(MemberSubscription).where(MemberSubscription.email == "iryna@example.org")
    ).scalar_one()
    ended = subscription(annual.stripe_subscription_id, annual.customer_id, price=ANNUAL_PRICE)
    ended["status"] = "canceled"
    assert post_event(reader, make_event("customer.subscription.deleted", ended)).status_code == 200

    page = staff.get("/staff/").get_data(as_text=True)
    assert reader.get("/api/goal").get_json()["members"] == 1
    assert 'data-members="1"' in page
    assert _figure(page, "week-cancellations") == "2"
    assert "Annual member" not in page
    assert "10.00 USD" in page and "18.33 USD" not in page
