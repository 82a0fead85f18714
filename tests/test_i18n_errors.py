"""Refusals speak the reader's language: the form's message by its field, error pages, and the
JSON API's `message` following Accept-Language while its `code` never changes."""

from __future__ import annotations

import pytest

from extensions import db
from i18n import language_choices
from membership.services import load_demo_tiers
from payments.prices import new_price_id
from tests.newsletters.helpers import load_lists, subscribe_api

UKRAINIAN = {"Accept-Language": "uk"}


@pytest.fixture
def client(app):
    load_lists(app)
    return app.test_client()


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Please enter a correct email address"),
        (UKRAINIAN, "Введіть, будь ласка, правильну електронну адресу"),
    ],
)
def test_the_api_refuses_an_address_in_the_asked_language_with_the_same_code(
    client, headers, message
):
    response = subscribe_api(client, "not an address", **headers)
    assert response.status_code == 422
    assert response.get_json() == {
        "error": {"code": "invalid_email", "message": message, "field": "email"}
    }


def test_an_unknown_newsletter_is_named_in_ukrainian(client):
    response = subscribe_api(client, "reader@example.com", ["no-such-list"], **UKRAINIAN)
    error = response.get_json()["error"]
    assert (error["code"], error["message"]) == (
        "unknown_newsletter",
        "Невідома розсилка: no-such-list",
    )


def test_a_malformed_body_is_refused_in_ukrainian(client):
    response = client.post(
        "/api/subscriptions", data="[1]", content_type="application/json", headers=UKRAINIAN
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "bad_request",
        "message": "Тіло запиту має бути об’єктом JSON.",
    }


def test_a_wrongly_typed_field_is_refused_in_ukrainian(client):
    response = client.post(
        "/api/subscriptions", json={"email": "a@example.com", "newsletters": "x"}, headers=UKRAINIAN
    )
    assert response.get_json()["error"]["message"] == (
        "newsletters має бути списком ідентифікаторів розсилок."
    )


def test_a_body_that_is_not_json_is_refused_in_ukrainian(client):
    response = client.post("/api/subscriptions", data="email=a", headers=UKRAINIAN)
    assert response.status_code == 415
    assert response.get_json()["error"] == {
        "code": "unsupported_media_type",
        "message": "Надішліть тіло запиту як application/json.",
    }


def test_an_unknown_api_address_answers_in_ukrainian(client):
    response = client.get("/api/nothing-here", headers=UKRAINIAN)
    assert response.status_code == 404
    assert response.get_json()["error"] == {
        "code": "not_found",
        "message": "За цією адресою нічого немає.",
    }


def test_a_missing_page_says_so_in_the_readers_language(client):
    page = client.get("/no-such-page?lang=uk").get_data(as_text=True)
    assert '<html lang="uk">' in page
    assert "За цією адресою нічого немає." in page


def test_the_signup_form_shows_its_message_in_ukrainian_by_the_field(client):
    response = client.post("/subscribe?lang=uk", data={"email": "nope", "form_id": "signup-choose"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Введіть, будь ласка, правильну електронну адресу" in page
    assert "Please enter a correct email address" not in page


def test_the_form_answer_in_place_is_ukrainian(client):
    response = client.post(
        "/subscribe?lang=uk",
        data={"email": "reader@example.com"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 202
    assert response.get_json()["message"] == (
        "Дякуємо за підписку! Ми надіслали вам листа для підтвердження."
    )


def test_the_article_forms_are_headed_in_ukrainian(client):
    page = client.get("/?lang=uk").get_data(as_text=True)
    assert "Підпишіться на наші розсилки" in page
    assert "Get our newsletters" not in page


def test_the_membership_form_refuses_an_address_in_ukrainian(client, app):
    with app.app_context():
        load_demo_tiers(new_price=new_price_id)
        db.session.commit()
    response = client.post(
        "/membership/checkout?lang=uk", data={"tier": "member", "email": "not an address"}
    )
    assert response.status_code == 422
    assert "Введіть правильну електронну адресу" in response.get_data(as_text=True)


def test_an_error_page_for_a_post_to_a_path_with_doubled_slashes_switches_to_the_front_page(app):
    # Found by the reader-page fuzzing: the switch looked the path up for GET, where werkzeug
    # answers "//" with a redirect, and the error page itself failed with a 500.
    with app.test_request_context("/membership/simulated-checkout//k6e83_", method="POST"):
        choices = language_choices()
    assert [choice.url for choice in choices] == ["/?lang=en", "/?lang=uk"]
