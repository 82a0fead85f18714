"""Signup rate limits: per client and per address, one budget for the form, embed and API."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import free_port
from tests.newsletters.helpers import add_default_list, load_lists, subscribe_api, subscribe_form

CLIENT = "198.51.100.1"


@pytest.fixture
def app(make_app):
    return load_lists(
        make_app(
            RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP="2/minute", RATELIMIT_SIGNUP_EMAIL="50/hour"
        )
    )


def api(client, email, address=CLIENT, **headers):
    return subscribe_api(client, email, address=address, **headers)


def form(client, email, address=CLIENT, newsletters=(), **fields):
    return subscribe_form(
        client, email, newsletters, form_id="signup-choose", address=address, **fields
    )


def test_api_past_the_limit_is_429_rate_limited_with_retry_after(app, client):
    assert api(client, "a@example.com").status_code == 202
    assert api(client, "b@example.com").status_code == 202
    response = api(client, "c@example.com")
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def test_a_script_on_an_embed_origin_can_read_retry_after(app, client):
    for email in ("a@example.com", "b@example.com"):
        api(client, email, Origin="https://outlet.example")
    response = api(client, "c@example.com", Origin="https://outlet.example")
    assert response.status_code == 429
    assert response.headers["Access-Control-Allow-Origin"] == "https://outlet.example"
    # Retry-After is not a CORS-safelisted header: without this the script cannot see it.
    exposed = response.headers.get("Access-Control-Expose-Headers", "").lower()
    assert "retry-after" in [name.strip() for name in exposed.split(",")]


def test_form_past_the_limit_shows_the_form_with_a_message_and_retry_after(app, client):
    form(client, "a@example.com")
    form(client, "b@example.com")
    response = form(client, "c@example.com")
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert 'id="signup-choose-email-error">Too many signups from here' in page
    assert 'value="c@example.com"' in page


def test_in_place_form_past_the_limit_gets_json_rate_limited(app, client):
    form(client, "a@example.com")
    form(client, "b@example.com")
    response = client.post(
        "/subscribe",
        data={"email": "c@example.com"},
        headers={"Accept": "application/json"},
        environ_base={"REMOTE_ADDR": CLIENT},
    )
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in response.headers


def test_form_embed_and_api_share_one_budget(app, client):
    form(client, "a@example.com")
    form(client, "b@example.com", source="embed", newsletters=["investigations"])
    assert api(client, "c@example.com").status_code == 429


def test_embed_past_the_limit_answers_inside_the_embed(app, client):
    form(client, "a@example.com")
    form(client, "b@example.com")
    response = form(client, "c@example.com", source="embed", newsletters=["investigations"])
    assert response.status_code == 429
    assert 'class="site-header"' not in response.get_data(as_text=True)
    assert (
        "frame-ancestors 'self' https://outlet.example"
        in (response.headers["Content-Security-Policy"])
    )


def test_other_clients_are_not_limited_by_one_clients_signups(app, client):
    api(client, "a@example.com")
    api(client, "b@example.com")
    assert api(client, "c@example.com", address="198.51.100.2").status_code == 202


def test_one_address_is_limited_whatever_the_client(make_app):
    app = load_lists(
        make_app(
            RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP="50/minute", RATELIMIT_SIGNUP_EMAIL="2/hour"
        )
    )
    client = app.test_client()
    assert api(client, "reader@example.com", "198.51.100.1").status_code == 202
    assert form(client, "Reader@Example.com ", "198.51.100.2").status_code == 200
    response = api(client, "reader@example.com", "198.51.100.3")
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert api(client, "someone-else@example.com", "198.51.100.3").status_code == 202


@pytest.mark.parametrize(
    "raw", [b"{broken", b"\xff\xfe", b"[]", b'{"email": ["x"]}', b'{"email": 5}']
)
def test_limits_read_garbage_bodies_without_failing(app, client, raw):
    response = client.post(
        "/api/subscriptions", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_oversized_body_is_still_413_with_limits_on(app, client):
    response = client.post("/subscribe", data={"email": "a@example.com", "junk": "x" * 20000})
    assert response.status_code == 413


def test_oversized_form_past_the_limit_is_a_429_page_not_a_500(app, client):
    form(client, "a@example.com")
    form(client, "b@example.com")
    response = form(client, "c@example.com", junk="x" * 20000)
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many signups from here" in response.get_data(as_text=True)


def test_signups_go_on_limited_in_memory_while_the_redis_store_is_down(make_app):
    nobody_listening = f"redis://127.0.0.1:{free_port()}/0"
    app = load_lists(
        make_app(
            RATELIMIT_ENABLED=True,
            RATELIMIT_SIGNUP="2/minute",
            RATELIMIT_SIGNUP_EMAIL="50/hour",
            RATELIMIT_STORAGE_URI=nobody_listening,
        )
    )
    client = app.test_client()
    assert api(client, "a@example.com").status_code == 202
    assert form(client, "b@example.com").status_code == 200
    assert api(client, "c@example.com").status_code == 429


def test_reading_pages_is_not_limited(app, client):
    for _ in range(5):
        assert client.get("/").status_code == 200
        assert client.get("/api/newsletters").status_code == 200


def test_spellings_of_one_address_share_its_per_address_budget(make_app):
    app = add_default_list(make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP_EMAIL="1/hour"))
    client = app.test_client()
    first = subscribe_api(client, "reader@example.com")
    # A full-width "ｅ" normalises to the same stored address.
    second = subscribe_api(client, "reader@\uff45xample.com")
    assert (first.status_code, second.status_code) == (202, 429)


def test_a_signup_refused_per_client_does_not_spend_its_address_budget(make_app):
    app = add_default_list(
        make_app(
            RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP="1/minute", RATELIMIT_SIGNUP_EMAIL="1/hour"
        )
    )
    client = app.test_client()
    assert api(client, "a@example.com").status_code == 202
    assert api(client, "b@example.com").status_code == 429  # past the client's budget first
    assert api(client, "b@example.com", address="198.51.100.2").status_code == 202


def test_a_refused_signup_is_logged_with_its_limit_and_no_address(app, client, caplog):
    api(client, "a@example.com")
    with caplog.at_level(logging.INFO):
        api(client, "b@example.com")
        api(client, "c@example.com")
    lines = [r.getMessage() for r in caplog.records if r.name == "flask-limiter"]
    assert lines == [f"ratelimit 2 per 1 minute ({CLIENT}) exceeded at endpoint: signup-client"]
