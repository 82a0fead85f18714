"""`flask tiers add`, `flask members reconcile` and `flask demo`."""

from sqlalchemy import select

from extensions import db
from membership.models import MemberSubscription, Tier
from tests.stripe_helpers import (
    FOREIGN_PRICE,
    MEMBER_PRICE,
    add_tiers,
    fixture,
    make_event,
    post_event,
    subscription,
)

ADD = ["tiers", "add", "gold", "--name", "Gold", "--amount", "2500", "--currency", "USD"]


def tier(app, slug: str) -> Tier:
    with app.app_context():
        return db.session.execute(select(Tier).where(Tier.slug == slug)).scalar_one()


def test_tiers_add_stores_the_given_price_without_calling_stripe(stripe_app, stripe_api):
    result = stripe_app.test_cli_runner().invoke(
        args=[*ADD, "--interval", "month", "--stripe-price", "price_gold"]
    )
    assert result.exit_code == 0, result.output
    assert stripe_api.requests == []
    stored = tier(stripe_app, "gold")
    assert (stored.stripe_price_id, stored.amount, stored.currency) == ("price_gold", 2500, "usd")


def test_tiers_add_is_idempotent_on_the_slug(app, runner):
    runner.invoke(args=[*ADD, "--interval", "month", "--stripe-price", "price_gold"])
    again = runner.invoke(args=[*ADD, "--interval", "month", "--stripe-price", "price_gold"])
    assert again.exit_code == 0
    assert "already exists" in again.output
    with app.app_context():
        assert len(db.session.execute(select(Tier)).all()) == 1


def test_tiers_add_in_simulated_mode_stores_a_simulated_price(app, runner):
    result = runner.invoke(args=[*ADD, "--interval", "year"])
    assert result.exit_code == 0, result.output
    assert tier(app, "gold").stripe_price_id == "price_sim_gold"


def test_tiers_add_in_stripe_mode_creates_the_price(stripe_app, stripe_api):
    price = fixture("price")
    price["id"] = "price_created_by_stripe"
    stripe_api.routes[("POST", "/v1/prices")] = price
    result = stripe_app.test_cli_runner().invoke(args=[*ADD, "--interval", "month"])
    assert result.exit_code == 0, result.output
    [sent] = stripe_api.requests_to("POST", "/v1/prices")
    assert sent["form"]["unit_amount"] == "2500"
    assert sent["form"]["recurring[interval]"] == "month"
    assert sent["form"]["product_data[name]"] == "Gold"
    assert tier(stripe_app, "gold").stripe_price_id == "price_created_by_stripe"


def test_tiers_add_refuses_a_bad_interval(runner):
    result = runner.invoke(args=[*ADD, "--interval", "week"])
    assert result.exit_code != 0


def test_demo_loads_the_demo_tiers_once(app, runner):
    runner.invoke(args=["demo"])
    runner.invoke(args=["demo"])
    with app.app_context():
        slugs = sorted(db.session.execute(select(Tier.slug)).scalars())
    assert slugs == ["annual", "member", "supporter", "sustainer"]


def listed(sub: dict, email: str | None = None) -> dict:
    if email:
        customer = fixture("customer")
        customer.update(id=sub["customer"], email=email)
        sub["customer"] = customer
    return sub


def test_reconcile_pages_through_stripe_and_repairs_local_state(stripe_app, stripe_api):
    client = stripe_app.test_client()
    with stripe_app.app_context():
        add_tiers()
    # Locally sub_1 counts and sub_2 is unknown; Stripe says sub_1 is canceled, sub_2 active.
    post_event(client, make_event("customer.subscription.created", subscription("sub_1", "cus_1")))
    pages = {
        None: {
            "object": "list",
            "url": "/v1/subscriptions",
            "has_more": True,
            "data": [
                listed(subscription("sub_1", "cus_1", status="canceled")),
                listed(subscription("sub_9", "cus_9", price=FOREIGN_PRICE)),
            ],
        },
        "sub_9": {
            "object": "list",
            "url": "/v1/subscriptions",
            "has_more": False,
            "data": [listed(subscription("sub_2", "cus_2"), email="two@example.com")],
        },
    }

    def list_subscriptions(request):
        return pages[(request["query"].get("starting_after") or [None])[0]]

    stripe_api.routes[("GET", "/v1/subscriptions")] = list_subscriptions
    result = stripe_app.test_cli_runner().invoke(args=["members", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "sub_1 cus_1: active -> canceled (members -1)" in result.output
    assert "sub_2 cus_2: unknown -> active (members +1)" in result.output
    assert "checked 3 subscriptions: 2 changed, 1 not ours; members 1 -> 1" in result.output
    requests = stripe_api.requests_to("GET", "/v1/subscriptions")
    assert [r["query"].get("starting_after") for r in requests] == [None, ["sub_9"]]
    assert requests[0]["query"]["status"] == ["all"]
    with stripe_app.app_context():
        rows = {
            s.stripe_subscription_id: s
            for s in db.session.execute(select(MemberSubscription)).scalars()
        }
        assert rows["sub_1"].deleted is True
        assert rows["sub_2"].email == "two@example.com"
        assert rows["sub_2"].tier.stripe_price_id == MEMBER_PRICE


def test_reconcile_with_nothing_to_repair_changes_nothing(stripe_app, stripe_api):
    client = stripe_app.test_client()
    with stripe_app.app_context():
        add_tiers()
    post_event(client, make_event("customer.subscription.created", subscription("sub_1", "cus_1")))
    stripe_api.routes[("GET", "/v1/subscriptions")] = {
        "object": "list",
        "has_more": False,
        "data": [subscription("sub_1", "cus_1")],
    }
    result = stripe_app.test_cli_runner().invoke(args=["members", "reconcile"])
    assert "checked 1 subscriptions: 0 changed, 0 not ours; members 1 -> 1" in result.output


def test_reconcile_with_stripe_unreachable_fails_plainly(make_app):
    from tests.conftest import free_port

    app = make_app(STRIPE_SECRET_KEY="sk_x", STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}")
    result = app.test_cli_runner().invoke(args=["members", "reconcile"])
    assert result.exit_code != 0
    assert "Stripe could not be reached" in result.output


def test_reconcile_in_simulated_mode_still_repairs_a_corrupted_counter(app, runner):
    from membership.goal import COUNTER_SETTING, count_members, count_members_exactly
    from membership.models import AppSetting

    with app.app_context():
        add_tiers()
        post_event(app.test_client(), make_event("customer.subscription.created", subscription()))
        count_members()
        db.session.get(AppSetting, COUNTER_SETTING).value = "42"
        db.session.commit()
    result = runner.invoke(args=["members", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "simulated mode" in result.output
    assert "members 42 -> 1" in result.output
    with app.app_context():
        assert count_members() == count_members_exactly() == 1


def tiers_add(runner, slug: str = "gold", **options: str):
    """`flask tiers add` with a valid tier, but for the options given (stripe_price=…)."""
    values = {"name": "Gold", "amount": "2500", "currency": "usd", "interval": "month"}
    values.update(options)
    flags = [
        part for key, value in values.items() for part in (f"--{key.replace('_', '-')}", value)
    ]
    return runner.invoke(args=["tiers", "add", slug, *flags])


def assert_refused_by_option(result, option: str) -> None:
    """Refused with a message naming the option, not a traceback."""
    assert result.exit_code != 0
    assert option in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def no_tier_stored(app) -> bool:
    with app.app_context():
        return db.session.execute(select(Tier)).first() is None


def test_tiers_add_refuses_a_currency_that_is_not_a_three_letter_code(app, runner):
    for currency in ("dollars", "u1", ""):
        result = tiers_add(runner, currency=currency)
        assert_refused_by_option(result, "--currency")
        assert "three-letter" in result.output
    assert no_tier_stored(app)


def test_tiers_add_refuses_an_empty_name(app, runner):
    assert_refused_by_option(tiers_add(runner, name=" "), "--name")
    assert no_tier_stored(app)


def test_tiers_add_refuses_a_slug_that_is_not_a_short_lowercase_word(app, runner):
    for slug in ("Gold Tier", "g" * 65):
        assert_refused_by_option(tiers_add(runner, slug), "SLUG")
    assert no_tier_stored(app)


def test_tiers_add_refuses_an_amount_stripe_would_not_take(app, runner):
    assert_refused_by_option(tiers_add(runner, amount="3000000000"), "--amount")
    assert no_tier_stored(app)


def test_tiers_add_refuses_a_price_id_that_is_not_one(app, runner):
    for price in ("p" * 300, "price 1", "price_1;drop"):
        assert_refused_by_option(tiers_add(runner, stripe_price=price), "--stripe-price")
    assert no_tier_stored(app)
