"""The member count stays cheap (a stored counter) and always equals its definition."""

from sqlalchemy import delete, update

from extensions import db
from membership.goal import COUNTER_SETTING, count_members, count_members_exactly
from membership.models import AppSetting, MemberSubscription
from tests.stripe_helpers import add_tiers, join_via_checkout, make_event, post_event, subscription


def test_the_count_follows_joins_and_cancellations(client, tiers, member_count):
    assert member_count() == 0
    post_event(client, make_event("customer.subscription.created", subscription("sub_1", "c1")))
    post_event(client, make_event("customer.subscription.created", subscription("sub_2", "c2")))
    assert member_count() == 2
    canceled = subscription("sub_1", "c1", status="canceled")
    post_event(client, make_event("customer.subscription.deleted", canceled))
    assert member_count() == 1


def test_a_missing_counter_is_rebuilt_from_the_subscriptions(client, tiers, member_count):
    post_event(client, make_event("customer.subscription.created", subscription()))
    db.session.execute(delete(AppSetting).where(AppSetting.key == COUNTER_SETTING))
    db.session.commit()
    assert member_count() == 1
    assert db.session.get(AppSetting, COUNTER_SETTING).value == "1"


def test_reconcile_repairs_a_counter_changed_behind_fulfilments_back(stripe_app, stripe_api):
    client = stripe_app.test_client()
    with stripe_app.app_context():
        add_tiers()
        post_event(client, make_event("customer.subscription.created", subscription()))
        assert count_members() == 1
        db.session.execute(update(MemberSubscription).values(status="canceled"))  # no event
        db.session.commit()
    stripe_api.routes[("GET", "/v1/subscriptions")] = {"object": "list", "data": []}
    result = stripe_app.test_cli_runner().invoke(args=["members", "reconcile"])
    assert "members 1 -> 0" in result.output
    with stripe_app.app_context():
        assert count_members() == count_members_exactly() == 0


def test_api_goal_shows_a_handled_webhook_at_once_despite_its_cache(make_app):
    app = make_app(GOAL_CACHE_SECONDS=3600)
    client = app.test_client()
    with app.app_context():
        add_tiers()
    assert client.get("/api/goal").get_json()["members"] == 0  # now cached for an hour
    post_event(client, make_event("customer.subscription.created", subscription()))
    assert client.get("/api/goal").get_json()["members"] == 1


def test_api_goal_shows_a_simulated_checkout_at_once_despite_its_cache(make_app):
    app = make_app(GOAL_CACHE_SECONDS=3600)
    client = app.test_client()
    with app.app_context():
        add_tiers()
    assert client.get("/api/goal").get_json()["members"] == 0
    join_via_checkout(client, "r@example.com")
    assert client.get("/api/goal").get_json()["members"] == 1
