"""Bad input found by fuzzing the signup endpoints: each a clear 4xx, never a 500."""

from __future__ import annotations

import pytest

from tests.newsletters.helpers import add_default_list, subscribe_api, subscribe_form

DEEPLY_NESTED = "[" * 5000 + "]" * 5000  # fits in 16 KiB; Python's json module recurses


@pytest.fixture
def app(make_app):
    # The limiter reads the address from the body before the view does: keep it on.
    return add_default_list(make_app(RATELIMIT_ENABLED=True))


def test_deeply_nested_json_to_the_api_is_400_bad_request(client):
    response = client.post(
        "/api/subscriptions", data=DEEPLY_NESTED, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_deeply_nested_json_to_the_signup_form_is_400(client):
    response = client.post("/subscribe", data=DEEPLY_NESTED, content_type="application/json")
    assert response.status_code == 400


def test_newsletters_null_is_400_bad_request_as_the_contract_says(client):
    response = client.post(
        "/api/subscriptions", json={"email": "reader@example.com", "newsletters": None}
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "bad_request",
        "field": "newsletters",
        "message": "newsletters must be a list of newsletter slugs.",
    }


def test_leaving_newsletters_out_still_means_the_default_lists(client):
    assert subscribe_api(client, "reader@example.com").status_code == 202


def test_a_nul_character_in_a_form_field_is_400(client):
    response = subscribe_form(client, "a\x00b@example.com", ["daily"])
    assert response.status_code == 400


def test_a_nul_character_in_a_header_that_is_stored_is_400(client):
    response = subscribe_api(client, "reader@example.com", **{"User-Agent": "bot\x00"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_a_nul_character_in_the_query_string_is_400(client):
    assert client.get("/embed/signup?newsletter=dai%00ly").status_code == 400


def test_a_nul_character_in_a_json_string_is_refused_as_an_invalid_address(client):
    response = subscribe_api(client, "a\x00b@example.com")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_email"
