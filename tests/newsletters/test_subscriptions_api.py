"""POST /api/subscriptions and GET /api/newsletters: every answer of the contract, never a 500."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from sqlalchemy import update

from extensions import db
from newsletters.models import Newsletter
from tests.newsletters.helpers import (
    confirm_path,
    consents,
    count_subscribers,
    outbox,
    statuses,
    subscribe_api,
)


def error_of(response):
    return response.get_json()["error"]


def test_lists_the_open_newsletters(lists, client):
    body = client.get("/api/newsletters").get_json()
    slugs = [item["slug"] for item in body["newsletters"]]
    assert "explaining-ukraine" in slugs and len(slugs) >= 3
    first = body["newsletters"][0]
    assert set(first) == {"slug", "name", "description"}
    assert first["name"] == "Explaining Ukraine with Kate Tsurkan"


def test_archived_lists_are_not_offered_and_not_accepted(lists, client):
    with lists.app_context():
        db.session.execute(
            update(Newsletter).where(Newsletter.slug == "culture-notes").values(archived=True)
        )
        db.session.commit()
    slugs = [n["slug"] for n in client.get("/api/newsletters").get_json()["newsletters"]]
    assert "culture-notes" not in slugs
    response = subscribe_api(client, "reader@example.com", ["culture-notes"])
    assert response.status_code == 422
    assert error_of(response)["code"] == "unknown_newsletter"


def test_signup_answers_202_pending_and_queues_a_confirmation(lists, client):
    response = subscribe_api(client, "reader@example.com", ["morning-briefing", "investigations"])
    assert response.status_code == 202
    assert response.get_json() == {"status": "pending"}
    assert statuses(lists, "reader@example.com") == {
        "morning-briefing": "pending",
        "investigations": "pending",
    }
    assert len(outbox(lists, "confirm")) == 1
    assert consents(lists)[0].source == "api"


def test_missing_or_empty_newsletters_means_the_default_lists(lists, client):
    subscribe_api(client, "one@example.com")
    subscribe_api(client, "two@example.com", [])
    assert statuses(lists, "one@example.com") == {"explaining-ukraine": "pending"}
    assert statuses(lists, "two@example.com") == {"explaining-ukraine": "pending"}


def test_answer_is_identical_for_new_pending_and_confirmed_addresses(lists, client):
    new = subscribe_api(client, "reader@example.com")
    pending = subscribe_api(client, "reader@example.com")
    client.post(confirm_path(lists))
    confirmed = subscribe_api(client, "reader@example.com")
    answers = [(r.status_code, r.content_type, r.get_data()) for r in (new, pending, confirmed)]
    expected = (202, "application/json", b'{"status":"pending"}\n')
    assert answers[0] == answers[1] == answers[2] == expected


@pytest.mark.parametrize("email", ["not-an-address", "", "   ", "a@b", "Joe <joe@example.com>"])
def test_invalid_address_is_422_invalid_email(lists, client, email):
    response = subscribe_api(client, email)
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_email"
    assert error_of(response)["field"] == "email"
    assert count_subscribers(lists) == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": None},
        {"newsletters": ["explaining-ukraine"]},
        {"email": None, "newsletters": "not a list"},  # the missing address is said first
    ],
)
def test_missing_or_null_email_is_422_invalid_email(lists, client, body):
    response = client.post("/api/subscriptions", json=body)
    assert response.status_code == 422
    assert error_of(response) == {
        "code": "invalid_email",
        "message": "Please enter a correct email address",
        "field": "email",
    }


def test_unknown_newsletter_is_422_with_field_newsletters(lists, client):
    response = subscribe_api(client, "reader@example.com", ["explaining-ukraine", "nope"])
    assert response.status_code == 422
    assert error_of(response)["code"] == "unknown_newsletter"
    assert error_of(response)["field"] == "newsletters"
    assert count_subscribers(lists) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "reader@example.com", "newsletters": "explaining-ukraine"}, "newsletters"),
        ({"email": "reader@example.com", "newsletters": [1, 2]}, "newsletters"),
        ({"email": "reader@example.com", "newsletters": [["explaining-ukraine"]]}, "newsletters"),
        ({"email": "reader@example.com", "newsletters": {"slug": "x"}}, "newsletters"),
        ({"email": 12345}, "email"),
        ({"email": ["reader@example.com"]}, "email"),
        ({"email": {"address": "reader@example.com"}}, "email"),
        ({"email": True}, "email"),
        ({"email": 12345, "newsletters": 5}, "email"),  # the first field wrong is the one named
    ],
)
def test_wrong_types_are_400_bad_request_naming_the_field(lists, client, body, field):
    response = client.post("/api/subscriptions", json=body)
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"
    assert error_of(response)["field"] == field
    assert count_subscribers(lists) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b"[1, 2, 3]",
        b"42",
        b'"reader@example.com"',
        b"null",
        b"\xff\xfe\xfd not utf-8",
        b'{"email": "\xff@example.com"}',
    ],
)
def test_malformed_or_non_object_json_is_400_bad_request(lists, client, raw):
    response = client.post(
        "/api/subscriptions", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
def test_body_that_is_not_json_is_415(lists, client, content_type):
    response = client.post(
        "/api/subscriptions",
        data=json.dumps({"email": "reader@example.com"}),
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_missing_content_type_is_415(lists, client):
    response = client.post("/api/subscriptions", data=b'{"email": "reader@example.com"}')
    assert response.status_code == 415


def test_body_over_16_kib_is_413_payload_too_large(lists, client):
    body = json.dumps({"email": "reader@example.com", "padding": "x" * 17000})
    response = client.post(
        "/api/subscriptions", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
    assert count_subscribers(lists) == 0


def post_chunked(base_url: str, path: str, body: bytes, content_type: str):
    """POST with Transfer-Encoding: chunked (no Content-Length), as a streaming client sends."""
    connection = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=10)
    chunks = [body[start : start + 4096] for start in range(0, len(body), 4096)]
    connection.request(
        "POST", path, body=iter(chunks), headers={"Content-Type": content_type}, encode_chunked=True
    )
    response = connection.getresponse()
    answer = (response.status, response.getheader("Content-Type"), response.read())
    connection.close()
    return answer


def test_chunked_body_over_16_kib_is_413_payload_too_large(lists, live_server):
    body = json.dumps({"email": "reader@example.com", "padding": "x" * 17000}).encode()
    status, _, answer = post_chunked(live_server, "/api/subscriptions", body, "application/json")
    assert status == 413
    assert json.loads(answer)["error"]["code"] == "payload_too_large"
    assert count_subscribers(lists) == 0


def test_chunked_form_over_16_kib_is_refused_not_cut_short(lists, live_server):
    body = b"email=reader%40example.com&padding=" + b"x" * 17000
    status, content_type, _ = post_chunked(
        live_server, "/subscribe", body, "application/x-www-form-urlencoded"
    )
    assert status == 413
    assert content_type.startswith("text/html")
    assert count_subscribers(lists) == 0


def test_chunked_body_within_the_limit_is_accepted(lists, live_server):
    body = json.dumps({"email": "reader@example.com"}).encode()
    status, _, answer = post_chunked(live_server, "/api/subscriptions", body, "application/json")
    assert (status, json.loads(answer)) == (202, {"status": "pending"})


@pytest.mark.parametrize(
    "body",
    [
        {"email": "x" * 15000 + "@example.com"},
        {"email": "reader@" + "a" * 300 + ".com"},
        {"email": "nul\x00byte@example.com"},
        {"email": "reader@example.com", "newsletters": ["nul\x00byte"]},
        {"email": "reader@example.com", "newsletters": ["x" * 10000]},
        {"email": "reader@example.com", "newsletters": ["../../etc/passwd", "'; drop table--"]},
        {"email": "reader@example.com", "nested": {"a": [{"b": [1, 2, {"c": None}]}]}},
        {"email": "\u202ereader@example.com"},
        {"email": "reader@[127.0.0.1]"},
        {"email": "reader@xn--invalid-.com"},
    ],
)
def test_nasty_bodies_never_cause_a_500(lists, client, body):
    response = client.post("/api/subscriptions", json=body)
    assert response.status_code in (202, 400, 413, 422)
    assert "error" in response.get_json() or response.get_json() == {"status": "pending"}


def test_unknown_fields_are_ignored(lists, client):
    response = client.post(
        "/api/subscriptions", json={"email": "reader@example.com", "utm_source": "outlet"}
    )
    assert response.status_code == 202


def preflight(client, origin: str):
    """What a browser asks before a script on `origin` may POST JSON to the API."""
    return client.options(
        "/api/subscriptions",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )


def test_cors_preflight_from_an_embed_origin_is_allowed(lists, client):
    response = preflight(client, "https://outlet.example")
    assert response.headers["Access-Control-Allow-Origin"] == "https://outlet.example"


def test_cors_preflight_from_another_origin_is_not_allowed(lists, client):
    response = preflight(client, "https://elsewhere.example")
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cross_origin_signup_from_an_embed_origin_is_readable(lists, client):
    response = subscribe_api(client, "reader@example.com", Origin="https://outlet.example")
    assert response.status_code == 202
    assert response.headers["Access-Control-Allow-Origin"] == "https://outlet.example"
    assert consents(lists)[0].source_url == "https://outlet.example"
