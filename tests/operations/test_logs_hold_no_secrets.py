"""A whole journey with every logger at DEBUG (SQLAlchemy's statements and rows included):
not one address, token, password or secret in the log."""

from __future__ import annotations

from tests.newsletters import helpers
from tests.newsletters.helpers import confirm_path, load_lists, subscribe_api, subscribe_form
from tests.operations.conftest import BEARER, METRICS_TOKEN
from tests.staff.conftest import sign_in
from tests.staff.factories import PASSWORD, make_staff
from tests.stripe_helpers import (
    WEBHOOK_SECRET,
    checkout_session,
    join_via_checkout,
    make_event,
    post_event,
    simulated_checkout_page,
)

READER = "reader.journey@example.com"
API_READER = "api.journey@example.org"
ADMIN = "admin.journey@newsroom.test"
PAYER = "payer.journey@example.net"
JOINER = "joiner.journey@example.org"
WRONG_PASSWORD = "not-the-password-42"


def test_a_whole_journey_leaves_no_address_token_password_or_secret_in_the_log(
    ops_app, ops_client, tiers, captured_log
):
    app, client = ops_app, ops_client
    make_staff(ADMIN, role="admin")
    load_lists(app)
    tokens = []

    assert subscribe_form(client, READER).status_code == 200
    assert subscribe_api(client, API_READER, ["morning-briefing"]).status_code == 202
    confirm = confirm_path(app, READER)
    tokens.append(confirm)
    assert client.get(confirm).status_code == 200
    assert client.post(confirm).status_code == 200

    (welcome,) = helpers.outbox(app, "welcome")
    preferences = helpers.preferences_path(welcome)
    unsubscribe = helpers.unsubscribe_path(welcome)
    tokens += [preferences, unsubscribe]
    assert client.get(preferences).status_code == 200
    assert client.post(preferences, data={"newsletters": ["investigations"]}).status_code == 200
    one_click = client.post(unsubscribe, data="List-Unsubscribe=One-Click")
    assert one_click.status_code == 200

    staff = app.test_client()
    assert sign_in(staff, ADMIN, WRONG_PASSWORD).status_code in (200, 422)
    assert sign_in(staff, ADMIN, PASSWORD).status_code == 302
    assert staff.get("/staff/").status_code == 200

    paid = checkout_session("cs_test_journey", customer="cus_journey", email=PAYER)
    assert post_event(client, make_event("checkout.session.completed", paid)).status_code == 200

    tokens.append(simulated_checkout_page(app.test_client(), JOINER))
    assert join_via_checkout(app.test_client(), JOINER).status_code == 200
    assert client.get("/metrics", headers=BEARER).status_code == 200

    log = captured_log.text()
    logged_paths = {(line["method"], line["path"]) for line in captured_log.requests()}
    assert {
        ("POST", "/subscribe"),
        ("POST", "/api/subscriptions"),
        ("POST", "/confirm/<token>"),
        ("POST", "/preferences/<token>"),
        ("POST", "/unsubscribe/<token>"),
        ("POST", "/staff/login"),
        ("POST", "/stripe/webhook"),
        ("POST", "/membership/simulated-checkout/<token>"),
        ("GET", "/metrics"),
    } <= logged_paths
    assert any(line["logger"].startswith("sqlalchemy.engine") for line in captured_log.lines())

    secrets = [READER, API_READER, ADMIN, PAYER, JOINER, PASSWORD, WRONG_PASSWORD]
    secrets += [path.rsplit("/", 1)[1] for path in tokens]
    secrets += [WEBHOOK_SECRET, METRICS_TOKEN, app.config["SECRET_KEY"]]
    secrets += [cookie.value for cookie in staff._cookies.values()]
    leaked = [secret for secret in secrets if secret in log]
    assert leaked == []
