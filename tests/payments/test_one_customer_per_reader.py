"""One reader, one Stripe customer: a reader who joins twice counts once, and a reader already
counted twice (customers made before checkout reused them) is reported."""

from __future__ import annotations

from sqlalchemy import distinct, func, select

from extensions import db
from membership.models import MemberSubscription
from payments import simulated
from tests.staff.conftest import sign_in
from tests.staff.factories import make_staff
from tests.stripe_helpers import (
    add_tiers,
    checkout_session,
    join_via_checkout,
    make_event,
    post_event,
    post_join_form,
    subscription,
)


def _open_checkout(stripe_api):
    """Stripe's answer to creating a Checkout Session: a new open session each time."""
    made = []

    def create(request):
        made.append(request["form"])
        return {"id": f"cs_test_{len(made)}", "object": "checkout.session", "url": "https://x"}

    stripe_api.routes[("POST", "/v1/checkout/sessions")] = create
    return made


def _pays(client, customer: str, subscription_id: str, tier: str = "member", price=None) -> None:
    """What Stripe sends once the reader pays a session for `customer`."""
    session = checkout_session(
        f"cs_{subscription_id}", customer=customer, subscription_id=subscription_id, tier_slug=tier
    )
    sub = subscription(subscription_id, customer, email="reader@example.com")
    if price:
        sub["items"]["data"][0]["price"]["id"] = price
    for event in (
        make_event("customer.subscription.created", sub),
        make_event("checkout.session.completed", session),
    ):
        assert post_event(client, event).status_code == 200


def _customers_counted(app) -> int:
    with app.app_context():
        query = select(func.count(distinct(MemberSubscription.customer_id)))
        return db.session.execute(query).scalar_one()


def test_a_reader_who_checks_out_twice_is_one_customer_and_one_member(
    stripe_app, stripe_api, member_count
):
    with stripe_app.app_context():
        add_tiers()
    sessions = _open_checkout(stripe_api)
    client = stripe_app.test_client()

    assert post_join_form(client, email="reader@example.com").status_code == 303
    first_customer = sessions[0]["customer"]
    _pays(client, first_customer, "sub_first")
    assert post_join_form(client, email="Reader@Example.com", tier="annual").status_code == 303
    _pays(client, sessions[1]["customer"], "sub_second", tier="annual", price="price_member_yearly")

    assert sessions[1]["customer"] == first_customer
    assert "customer_email" not in sessions[0] and "customer_email" not in sessions[1]
    assert len(stripe_api.requests_to("POST", "/v1/customers")) == 1
    assert member_count() == 1
    assert _customers_counted(stripe_app) == 1


def test_two_checkouts_opened_before_either_is_paid_share_one_customer(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    sessions = _open_checkout(stripe_api)
    post_join_form(stripe_app.test_client(), email="reader@example.com")
    post_join_form(stripe_app.test_client(), email="reader@example.com", tier="annual")
    assert sessions[0]["customer"] == sessions[1]["customer"]


def test_a_customer_made_elsewhere_is_found_by_stripes_search(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    stripe_api.add_customer("reader@example.com", "cus_from_the_dashboard")
    sessions = _open_checkout(stripe_api)
    post_join_form(stripe_app.test_client(), email="reader@example.com")
    [search] = stripe_api.requests_to("GET", "/v1/customers/search")
    assert search["query"]["query"] == ["email:'reader@example.com'"]
    assert sessions[0]["customer"] == "cus_from_the_dashboard"
    assert stripe_api.requests_to("POST", "/v1/customers") == []


def test_an_address_with_a_quote_is_searched_with_the_quote_escaped(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    stripe_api.add_customer("o'brien@example.com", "cus_obrien")
    sessions = _open_checkout(stripe_api)
    post_join_form(stripe_app.test_client(), email="o'brien@example.com")
    [search] = stripe_api.requests_to("GET", "/v1/customers/search")
    assert search["query"]["query"] == ["email:'o\\'brien@example.com'"]
    assert sessions[0]["customer"] == "cus_obrien"


def test_a_customer_learned_from_an_event_is_passed_without_asking_stripe(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    client = stripe_app.test_client()
    _pays(client, "cus_from_an_event", "sub_earlier")
    sessions = _open_checkout(stripe_api)
    post_join_form(client, email="READER@example.com", tier="annual")
    assert sessions[0]["customer"] == "cus_from_an_event"
    assert stripe_api.requests_to("GET", "/v1/customers/search") == []
    assert stripe_api.requests_to("POST", "/v1/customers") == []


def test_the_readers_customer_that_counts_is_preferred_to_an_older_one(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    client = stripe_app.test_client()
    _pays(client, "cus_member", "sub_counting")
    lapsed = subscription("sub_lapsed", "cus_lapsed", status="canceled", email="reader@example.com")
    post_event(client, make_event("customer.subscription.deleted", lapsed))
    sessions = _open_checkout(stripe_api)
    post_join_form(client, email="reader@example.com", tier="annual")
    assert sessions[0]["customer"] == "cus_member"


def test_in_test_mode_a_reader_who_joins_twice_is_one_customer_and_one_member(
    client, tiers, member_count
):
    join_via_checkout(client, "reader@example.com", "member")
    join_via_checkout(client, "reader@example.com", "annual")
    assert member_count() == 1
    assert _customers_counted(client.application) == 1


def test_the_simulated_checkout_makes_a_new_customer_unless_one_is_passed(app_ctx, tiers):
    tier = tiers["member"]
    paid = [
        simulated.read_completed_session(
            simulated.pay(simulated.open_session(mode="subscription", email="a@x.org", tier=tier))
        )
        for _ in range(2)
    ]
    assert paid[0]["customer"] != paid[1]["customer"]
    passed = simulated.open_session(
        mode="subscription", email="a@x.org", tier=tier, customer="cus_given"
    )
    assert simulated.read_completed_session(simulated.pay(passed))["customer"] == "cus_given"


def _counted_twice(client) -> None:
    """One address, two customers each with a counting membership (made before the fix)."""
    for customer, sub_id in (("cus_old_one", "sub_old_one"), ("cus_old_two", "sub_old_two")):
        sub = subscription(sub_id, customer, email="twice@example.com")
        assert (
            post_event(client, make_event("customer.subscription.created", sub)).status_code == 200
        )


def test_reconcile_reports_an_address_held_by_two_member_customers(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    client = stripe_app.test_client()
    _counted_twice(client)
    stripe_api.routes[("GET", "/v1/subscriptions")] = {
        "object": "list",
        "has_more": False,
        "data": [
            subscription("sub_old_one", "cus_old_one", email="twice@example.com"),
            subscription("sub_old_two", "cus_old_two", email="twice@example.com"),
        ],
    }
    result = stripe_app.test_cli_runner().invoke(args=["members", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "1 address(es) held by more than one member customer:" in result.output
    assert "twice@example.com: 2 customers count as members" in result.output


def test_reconcile_learns_the_address_from_stripes_customer_to_find_them(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    client = stripe_app.test_client()
    for customer, sub_id in (("cus_a", "sub_a"), ("cus_b", "sub_b")):
        post_event(
            client, make_event("customer.subscription.created", subscription(sub_id, customer))
        )
    listed = []
    for customer, sub_id in (("cus_a", "sub_a"), ("cus_b", "sub_b")):
        sub = subscription(sub_id, customer)
        sub["customer"] = {"id": customer, "object": "customer", "email": "Same@Example.com"}
        listed.append(sub)
    stripe_api.routes[("GET", "/v1/subscriptions")] = {"has_more": False, "data": listed}
    result = stripe_app.test_cli_runner().invoke(args=["members", "reconcile"])
    assert "same@example.com: 2 customers count as members" in result.output


def test_reconcile_says_when_no_address_is_counted_twice(client, tiers, runner):
    join_via_checkout(client, "reader@example.com")
    result = runner.invoke(args=["members", "reconcile"])
    assert "no address is held by more than one member customer" in result.output


def test_the_dashboard_shows_addresses_counted_twice_beside_the_count(app, tiers):
    _counted_twice(app.test_client())
    make_staff("editor@newsroom.test")
    staff = app.test_client()
    sign_in(staff, "editor@newsroom.test")
    page = staff.get("/staff/").get_data(as_text=True)
    assert 'data-members="2"' in page
    assert "<strong>1</strong> address is held by more than one member customer" in page
