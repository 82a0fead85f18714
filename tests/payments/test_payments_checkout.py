"""Joining through Stripe Checkout, against a local server standing in for Stripe's API."""

from sqlalchemy import func, select

from extensions import db
from mailer.models import OutboxMessage
from membership.models import Contribution, MemberSubscription
from payments.models import ProcessedEvent
from tests.conftest import free_port
from tests.stripe_helpers import (
    MEMBER_PRICE,
    add_tiers,
    checkout_session,
    fixture,
    make_event,
    post_event,
    post_join_form,
)

CHECKOUT_URL = "https://checkout.stripe.com/c/pay/cs_test_standin"


def open_session() -> dict:
    session = fixture("checkout.session")
    session.update(id="cs_test_standin", url=CHECKOUT_URL, mode="subscription", status="open")
    return session


def rows(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_checkout_sends_our_parameters_to_stripe_and_redirects_to_its_page(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    stripe_api.routes[("POST", "/v1/checkout/sessions")] = open_session()
    response = post_join_form(
        stripe_app.test_client(), email=" Reader@Example.com ", attempt="form-1"
    )
    assert response.status_code == 303
    assert response.headers["Location"] == CHECKOUT_URL
    [sent] = stripe_api.requests_to("POST", "/v1/checkout/sessions")
    form = sent["form"]
    assert form["mode"] == "subscription"
    assert form["line_items[0][price]"] == MEMBER_PRICE
    assert form["line_items[0][quantity]"] == "1"
    [made] = stripe_api.requests_to("POST", "/v1/customers")
    assert made["form"]["email"] == "Reader@example.com"
    assert form["customer"] == stripe_api.customers.popitem()[0]
    assert "customer_email" not in form
    assert form["client_reference_id"] == "tier-member"
    assert form["metadata[tier_slug]"] == "member"
    assert form["subscription_data[metadata][tier_slug]"] == "member"
    assert form["success_url"] == (
        "http://newsroom.test/membership/welcome?session_id={CHECKOUT_SESSION_ID}"
    )
    assert form["cancel_url"] == "http://newsroom.test/membership"
    assert sent["headers"]["Authorization"] == "Bearer sk_test_standin"
    assert sent["headers"]["Idempotency-Key"].startswith("membership-")


def test_the_same_form_sent_twice_reuses_one_idempotency_key(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    stripe_api.routes[("POST", "/v1/checkout/sessions")] = open_session()
    client = stripe_app.test_client()
    post_join_form(client, attempt="form-1")
    post_join_form(client, attempt="form-1")
    post_join_form(client, attempt="form-2")
    sessions = stripe_api.requests_to("POST", "/v1/checkout/sessions")
    keys = [r["headers"]["Idempotency-Key"] for r in sessions]
    assert keys[0] == keys[1] != keys[2]


def test_an_invalid_email_shows_the_form_again_with_the_message_by_the_field(client, tiers):
    response = post_join_form(client, email="Joe <joe@example.com>")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'aria-describedby="email-error"' in page
    assert 'id="email-error"' in page
    assert "Joe &lt;joe@example.com&gt;" in page


def test_an_unknown_tier_is_refused_by_the_field(client, tiers):
    response = post_join_form(client, tier="platinum")
    assert response.status_code == 422
    assert 'id="tier-error"' in response.get_data(as_text=True)


def test_stripe_unreachable_shows_a_friendly_page_and_records_nothing(make_app):
    dead_api = f"http://127.0.0.1:{free_port()}"
    app = make_app(STRIPE_SECRET_KEY="sk_test_standin", STRIPE_API_BASE=dead_api)
    with app.app_context():
        add_tiers()
    response = post_join_form(app.test_client())
    assert response.status_code == 503
    assert b"could not reach our payment provider" in response.data
    assert b"Traceback" not in response.data
    with app.app_context():
        assert rows(MemberSubscription) == 0
        assert rows(OutboxMessage) == 0


def test_stripe_refusing_the_request_shows_the_same_friendly_page(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    refusal = {"error": {"type": "invalid_request_error", "message": "No such price"}}
    stripe_api.routes[("POST", "/v1/checkout/sessions")] = (400, refusal)
    response = post_join_form(stripe_app.test_client())
    assert response.status_code == 503
    assert b"Nothing was charged" in response.data


def test_a_contribution_is_a_payment_mode_session_for_the_chosen_amount(stripe_app, stripe_api):
    stripe_api.routes[("POST", "/v1/checkout/sessions")] = open_session()
    response = stripe_app.test_client().post(
        "/membership/contribute", data={"amount": "25", "email": ""}
    )
    assert response.status_code == 303
    [sent] = stripe_api.requests_to("POST", "/v1/checkout/sessions")
    assert sent["form"]["mode"] == "payment"
    assert sent["form"]["line_items[0][price_data][unit_amount]"] == "2500"
    assert sent["form"]["line_items[0][price_data][currency]"] == "usd"
    assert sent["form"]["metadata[purpose]"] == "contribution"


def test_a_contribution_amount_out_of_range_is_refused_by_the_field(client):
    response = client.post("/membership/contribute", data={"amount": "0.5"})
    assert response.status_code == 422
    assert 'id="amount-error"' in response.get_data(as_text=True)


def completed(session_id="cs_test_done", **fields) -> dict:
    session = checkout_session(session_id, **fields)
    session["url"] = None
    return session


def test_the_welcome_page_counts_a_reader_who_returns_before_the_webhook(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    stripe_api.routes[("GET", "/v1/checkout/sessions/cs_test_done")] = completed()
    client = stripe_app.test_client()
    response = client.get("/membership/welcome?session_id=cs_test_done")
    assert response.status_code == 200
    assert b"You are now a Member" in response.data
    assert client.get("/api/goal").get_json()["members"] == 1
    with stripe_app.app_context():
        assert rows(OutboxMessage) == 1


def test_the_webhook_after_the_welcome_page_does_not_count_again(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    stripe_api.routes[("GET", "/v1/checkout/sessions/cs_test_done")] = completed()
    client = stripe_app.test_client()
    client.get("/membership/welcome?session_id=cs_test_done")
    event = make_event("checkout.session.completed", completed(), created=1_700_000_100)
    assert post_event(client, event).status_code == 200
    client.get("/membership/welcome?session_id=cs_test_done")
    assert client.get("/api/goal").get_json()["members"] == 1
    with stripe_app.app_context():
        assert rows(OutboxMessage) == 1
        assert rows(ProcessedEvent) == 1


def test_the_welcome_page_for_an_unpaid_session_records_nothing(stripe_app, stripe_api):
    with stripe_app.app_context():
        add_tiers()
    unpaid = completed(payment_status="unpaid")
    stripe_api.routes[("GET", "/v1/checkout/sessions/cs_test_done")] = unpaid
    client = stripe_app.test_client()
    response = client.get("/membership/welcome?session_id=cs_test_done")
    assert response.status_code == 200
    assert b"being confirmed" in response.data
    assert client.get("/api/goal").get_json()["members"] == 0


def test_the_welcome_page_records_a_contribution_once(stripe_app, stripe_api):
    gift = completed(mode="payment", subscription_id=None, tier_slug=None)
    gift.update(metadata={"purpose": "contribution"}, amount_total=1500, currency="usd")
    stripe_api.routes[("GET", "/v1/checkout/sessions/cs_test_done")] = gift
    client = stripe_app.test_client()
    client.get("/membership/welcome?session_id=cs_test_done")
    response = client.get("/membership/welcome?session_id=cs_test_done")
    assert b"Thank you for your contribution" in response.data
    with stripe_app.app_context():
        assert rows(Contribution) == 1
        assert client.get("/api/goal").get_json()["members"] == 0


def test_the_welcome_page_with_stripe_unreachable_still_thanks_the_reader(make_app):
    app = make_app(STRIPE_SECRET_KEY="sk_test_x", STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}")
    response = app.test_client().get("/membership/welcome?session_id=cs_test_done")
    assert response.status_code == 200
    assert b"being confirmed" in response.data


def test_the_welcome_page_for_a_session_stripe_does_not_know_says_so(stripe_app, stripe_api):
    response = stripe_app.test_client().get("/membership/welcome?session_id=cs_test_bogus")
    assert stripe_api.requests_to("GET", "/v1/checkout/sessions/cs_test_bogus")
    assert response.status_code == 400
    assert b"We could not find that checkout" in response.data
    assert b"being confirmed" not in response.data


def test_a_webhook_landing_while_the_welcome_page_records_is_counted_once(stripe_app, stripe_api):
    """The reader returns from Stripe just as Stripe's event arrives: one member, not two."""
    import threading

    from sqlalchemy import Engine
    from sqlalchemy import event as sql_event

    from membership.goal import count_members, count_members_exactly
    from tests.stripe_helpers import subscription

    client = stripe_app.test_client()
    with stripe_app.app_context():
        add_tiers()
        count_members()
    older = subscription(status="incomplete")
    post_event(client, make_event("customer.subscription.created", older, created=1_699_999_000))
    stripe_api.routes[("GET", "/v1/checkout/sessions/cs_test_done")] = completed()
    webhook = threading.Thread(
        target=post_event,
        args=(
            stripe_app.test_client(),
            make_event("customer.subscription.updated", subscription(), created=1_700_000_050),
        ),
    )

    welcome_thread = threading.current_thread()

    # Just before the welcome page writes the subscription's row (its locks already taken).
    def deliver_during_the_welcome_pages_write(_conn, _cursor, statement, *_args):
        writes_the_row = statement.startswith(
            ("INSERT INTO member_subscriptions", "UPDATE member_subscriptions SET customer_id")
        )
        if writes_the_row and threading.current_thread() is welcome_thread and not webhook.ident:
            webhook.start()
            webhook.join(timeout=1)  # it finishes now, or waits for this write to commit

    sql_event.listen(Engine, "before_cursor_execute", deliver_during_the_welcome_pages_write)
    try:
        assert client.get("/membership/welcome?session_id=cs_test_done").status_code == 200
    finally:
        sql_event.remove(Engine, "before_cursor_execute", deliver_during_the_welcome_pages_write)
    assert webhook.ident is not None  # the event was delivered during the write
    webhook.join()
    with stripe_app.app_context():
        assert count_members() == count_members_exactly() == 1


def test_a_refused_contribution_keeps_its_email_out_of_the_join_form(client, tiers):
    response = client.post(
        "/membership/contribute", data={"amount": "abc", "email": "gift@example.com"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    join_form = page[page.index('class="join"') : page.index('class="contribute"')]
    assert "gift@example.com" not in join_form
    assert (
        'id="contribution-email" name="email" autocomplete="email" value="gift@example.com"' in page
    )
