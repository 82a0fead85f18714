"""The dashboard's figures for a known data set."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from database import utcnow
from extensions import db
from membership.goal import goal_progress, set_goal
from staff import stats
from staff.sqltime import start_of_day
from tests.staff.factories import make_contribution, make_member, make_tier, member_event


def _at(days_ago: int, hour: int = 12):
    today = utcnow().date()
    return start_of_day(today - timedelta(days=days_ago)) + timedelta(hours=hour)


@pytest.fixture
def drive(app_ctx):
    """7 members against a goal of 100; 13 joins and 3 cancellations in the last 30 days."""
    monthly5 = make_tier("five", 500)
    monthly10 = make_tier("ten", 1000)
    yearly = make_tier("yearly", 6000, interval="year")
    euro = make_tier("euro", 800, currency="eur")
    for _ in range(3):
        make_member(monthly5)
    make_member(monthly10, status="past_due")
    make_member(monthly10, status="canceled")
    make_member(yearly)
    make_member(yearly)
    make_member(euro, status="trialing")
    set_goal(100)
    db.session.commit()

    today_start = start_of_day(utcnow().date())
    member_event(+1, today_start + timedelta(seconds=1))
    member_event(+1, today_start + timedelta(seconds=2))
    member_event(-1, today_start + timedelta(seconds=3))
    for _ in range(5):
        member_event(+1, _at(10))
    member_event(-1, _at(10))
    for _ in range(6):
        member_event(+1, _at(20))
    member_event(-1, _at(20))
    for _ in range(4):
        member_event(+1, _at(40))  # outside the pace window

    for amount in (1000, 2500, 500):
        make_contribution(amount)
    make_contribution(700, currency="eur")


def test_the_dashboard_shows_the_goal_progress_count(editor_client, drive):
    page = editor_client.get("/staff/").get_data(as_text=True)
    assert goal_progress().members == 7
    assert 'data-members="7"' in page
    assert 'data-goal="100"' in page
    assert re.search(r'<progress id="goal-progress" max="100" value="7"', page)
    assert "7.00% of the goal; 93 to go." in page


def test_joins_and_cancellations_this_week_count_only_since_monday(editor_client, drive):
    page = editor_client.get("/staff/").get_data(as_text=True)
    assert '<dd id="week-joins">2</dd>' in page
    assert '<dd id="week-cancellations">1</dd>' in page
    assert '<dd id="week-net">+1</dd>' in page


def test_the_pace_is_the_net_of_the_last_30_days(editor_client, drive):
    page = editor_client.get("/staff/").get_data(as_text=True)
    assert "+0.33 members/day" in page  # (13 joins − 3 cancellations) / 30 days


def test_the_projection_reaches_the_goal_at_that_pace(editor_client, drive):
    projection = stats.project_goal(goal_progress(), utcnow().date())
    expected = utcnow().date() + timedelta(days=279)  # 93 to go at 10 per 30 days
    assert projection.reach_on == expected
    page = editor_client.get("/staff/").get_data(as_text=True)
    assert f'datetime="{expected.isoformat()}"' in page


def test_without_growth_the_dashboard_says_the_goal_will_not_be_reached(editor_client, app_ctx):
    member_event(-1, _at(3))
    page = editor_client.get("/staff/").get_data(as_text=True)
    assert "will not be reached" in page
    assert "-0.03 members/day" in page


def test_a_reached_goal_is_said_so(editor_client, app_ctx):
    make_member(make_tier("five", 500))
    set_goal(1)
    db.session.commit()
    assert "The goal is reached." in editor_client.get("/staff/").get_data(as_text=True)


def test_monthly_recurring_revenue_per_tier_and_currency(editor_client, drive):
    revenue = stats.monthly_recurring_revenue()
    by_tier = {tier.slug: (tier.subscriptions, tier.monthly) for tier in revenue.tiers}
    assert by_tier == {
        "five": (3, 1500),
        "ten": (1, 1000),  # past_due counts; the canceled one does not
        "yearly": (2, 1000),  # 2 × 60.00 a year = 10.00 a month
        "euro": (1, 800),
    }
    assert revenue.totals == {"usd": 3500, "eur": 800}
    page = editor_client.get("/staff/").get_data(as_text=True)
    assert "35.00 USD" in page and "8.00 EUR" in page


def test_one_time_contributions_are_counted_and_summed_per_currency(editor_client, drive):
    totals = {row.currency: (row.count, row.total) for row in stats.contribution_totals()}
    assert totals == {"usd": (3, 4000), "eur": (1, 700)}
    assert "40.00 USD" in editor_client.get("/staff/").get_data(as_text=True)


def test_the_growth_series_has_daily_joins_cancellations_and_ends_on_the_count(app_ctx, drive):
    today = utcnow().date()
    series = stats.member_growth(30, goal_progress().members, today)
    assert len(series) == 30
    assert series[-1].day == today and series[-1].members == 7
    assert (series[-1].joins, series[-1].cancellations) == (2, 1)
    ten_days_ago = next(day for day in series if day.day == today - timedelta(days=10))
    assert (ten_days_ago.joins, ten_days_ago.cancellations) == (5, 1)
    assert series[0].members == 7 - 10  # walked back over the window's net


def test_the_growth_chart_is_an_accessible_svg_with_a_table(editor_client, drive):
    page = editor_client.get("/staff/?days=30").get_data(as_text=True)
    svg = re.search(r'<svg id="growth-chart".*?</svg>', page, flags=re.S).group(0)
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert 'class="members-line"' in svg
    assert svg.count("<rect") == 3 + 3  # three days with joins, three with cancellations
    assert "style=" not in page
    assert '<table class="figures" id="growth-table">' in page


def test_the_dashboard_has_no_inline_style_or_script(editor_client, drive):
    page = editor_client.get("/staff/").get_data(as_text=True)
    assert "style=" not in page and "<style" not in page
    assert "<script" not in page


def test_an_empty_dashboard_still_renders(editor_client):
    response = editor_client.get("/staff/")
    assert response.status_code == 200
    assert "No paying members yet." in response.get_data(as_text=True)


def test_the_growth_period_can_be_chosen_and_falls_back_to_90_days(editor_client, drive):
    year = editor_client.get("/staff/?days=365").get_data(as_text=True)
    assert "Growth over the last 365 days" in year
    odd = editor_client.get("/staff/?days=7").get_data(as_text=True)
    assert "Growth over the last 90 days" in odd


def test_a_goal_centuries_away_is_said_so_instead_of_a_date(editor_client, app_ctx):
    member_event(+1, _at(2))
    set_goal(10_000_000)
    db.session.commit()
    page = editor_client.get("/staff/").get_data(as_text=True)
    assert "more than a century away" in page


def test_a_period_without_joins_or_cancellations_says_so_in_the_chart(editor_client):
    page = editor_client.get("/staff/").get_data(as_text=True)
    svg = re.search(r'<svg id="growth-chart".*?</svg>', page, flags=re.S).group(0)
    assert "No joins or cancellations in the last 90 days" in svg
    assert '"-"' not in svg and "<rect" not in svg
