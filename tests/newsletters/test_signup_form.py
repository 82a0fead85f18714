"""The demo article page and its signup forms, as a reader without JavaScript uses them."""

from __future__ import annotations

import re

from tests.newsletters.helpers import (
    confirm_path,
    consents,
    count_subscribers,
    outbox,
    statuses,
    subscribe_form,
)

ERROR = "Please enter a correct email address"
SUCCESS = "Thank you for signing up. We&#39;ve sent you a confirmation email."


def test_article_page_has_headline_banner_and_several_signup_forms(lists, client):
    page = client.get("/").get_data(as_text=True)
    assert "<h1>The night shift that keeps Kharkiv's lights on</h1>" in page
    assert page.count('<form class="signup-form"') >= 3
    assert page.count("Enter your email to subscribe") >= 3
    assert "* indicates required" in page
    assert "Explaining Ukraine with Kate Tsurkan" in page
    assert "Help us reach 20,000 members" in page
    assert re.search(r'<progress class="goal-progress" max="20000" value="0"', page)
    assert 'href="/membership"' in page


def test_article_page_has_no_inline_styles_or_scripts(lists, client):
    page = client.get("/").get_data(as_text=True)
    assert "style=" not in page
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None


def test_every_signup_form_opts_out_of_browser_validation(lists, client):
    page = client.get("/").get_data(as_text=True)
    forms = re.findall(r"<form class=\"signup-form\"[^>]*>", page)
    assert forms and all("novalidate" in form for form in forms)


def test_form_signup_shows_the_success_page_and_queues_one_confirmation(lists, client):
    response = subscribe_form(client, "reader@example.com")
    assert response.status_code == 200
    assert SUCCESS in response.get_data(as_text=True)
    assert statuses(lists, "reader@example.com") == {"explaining-ukraine": "pending"}
    assert [m.to_addr for m in outbox(lists, "confirm")] == ["reader@example.com"]


def test_invalid_address_comes_back_with_the_error_by_the_field(lists, client):
    response = subscribe_form(client, "not-an-address")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<p class="field-error" id="signup-explaining-email-error">' + ERROR in page
    field = re.search(r'<input type="email" id="signup-explaining-email"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="signup-explaining-email-error"' in field
    assert 'value="not-an-address"' in field
    assert count_subscribers(lists) == 0


def test_display_name_form_of_an_address_is_refused(lists, client):
    response = subscribe_form(client, "Joe <joe@example.com>")
    assert response.status_code == 422
    assert ERROR in response.get_data(as_text=True)


def test_surrounding_white_space_is_ignored_and_the_address_normalised(lists, client):
    subscribe_form(client, "  Reader@EXAMPLE.com \n")
    assert statuses(lists, "Reader@example.com") == {"explaining-ukraine": "pending"}


def test_same_address_in_another_case_is_the_same_subscriber(lists, client):
    subscribe_form(client, "reader@example.com")
    subscribe_form(client, "READER@example.com", newsletters=("morning-briefing",))
    assert count_subscribers(lists) == 1
    assert statuses(lists, "reader@example.com") == {
        "explaining-ukraine": "pending",
        "morning-briefing": "pending",
    }


def test_no_list_chosen_means_the_default_list(lists, client):
    subscribe_form(client, "reader@example.com", newsletters=())
    assert statuses(lists, "reader@example.com") == {"explaining-ukraine": "pending"}


def test_unknown_list_comes_back_with_a_message_and_stores_nothing(lists, client):
    response = subscribe_form(
        client, "reader@example.com", ["no-such-list"], form_id="signup-choose"
    )
    assert response.status_code == 422
    assert 'id="signup-choose-newsletters-error">Please choose one of our newsletters' in (
        response.get_data(as_text=True)
    )
    assert count_subscribers(lists) == 0


def test_list_gone_from_a_single_list_form_shows_the_message_with_the_lists_to_choose(
    lists, client
):
    # A page loaded before the list was archived, or an outlet's form naming a stale list.
    response = subscribe_form(client, "reader@example.com", newsletters=("gone",))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="signup-choose-newsletters-error">Please choose one of our newsletters' in page
    assert 'id="signup-choose-email" name="email" value="reader@example.com"' in page
    assert count_subscribers(lists) == 0


def test_filled_honeypot_answers_as_success_but_stores_and_sends_nothing(lists, client):
    response = subscribe_form(client, "bot@example.com", website="http://spam.example")
    assert response.status_code == 200
    assert SUCCESS in response.get_data(as_text=True)
    assert count_subscribers(lists) == 0
    assert outbox(lists) == []


def test_consent_records_page_source_url_address_agent_and_wording(lists, client):
    client.post(
        "/subscribe",
        data={
            "email": "reader@example.com",
            "newsletters": "explaining-ukraine",
            "source_url": "http://newsroom.test/news/kharkiv",
        },
        headers={"User-Agent": "ReaderBrowser/1.0"},
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )
    (consent,) = consents(lists)
    assert consent.source == "page"
    assert consent.source_url == "http://newsroom.test/news/kharkiv"
    assert consent.ip == "203.0.113.7"
    assert consent.user_agent == "ReaderBrowser/1.0"
    assert consent.wording.startswith("Enter your email to subscribe")
    assert "Explaining Ukraine with Kate Tsurkan" in consent.wording
    assert consent.newsletter_slugs == "explaining-ukraine"
    assert consent.signed_up_at is not None and consent.confirmed_at is None


def test_referer_is_the_source_url_when_the_form_does_not_say(lists, client):
    client.post(
        "/subscribe",
        data={"email": "reader@example.com"},
        headers={"Referer": "http://newsroom.test/news/story"},
    )
    assert consents(lists)[0].source_url == "http://newsroom.test/news/story"


def test_in_place_submission_gets_json_success(lists, client):
    response = client.post(
        "/subscribe",
        data={"email": "reader@example.com", "form_id": "signup-choose"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 202
    assert response.get_json()["message"] == (
        "Thank you for signing up. We've sent you a confirmation email."
    )


def test_in_place_submission_gets_the_error_for_the_field(lists, client):
    response = client.post(
        "/subscribe", data={"email": "nope"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 422
    assert response.get_json() == {
        "error": {"code": "invalid_email", "message": ERROR, "field": "email"}
    }


def test_form_answer_is_identical_for_new_pending_and_confirmed_addresses(lists, client):
    first = subscribe_form(client, "reader@example.com").get_data()
    again = subscribe_form(client, "reader@example.com").get_data()
    client.post(confirm_path(lists))
    confirmed = subscribe_form(client, "reader@example.com").get_data()
    assert first == again == confirmed
