"""Double opt-in: the confirmation link, its page and button, expired and tampered links."""

from __future__ import annotations

import time

from itsdangerous.timed import TimestampSigner

from extensions import db
from newsletters.models import Subscriber
from tests.links import tampered
from tests.newsletters.helpers import (
    confirm_path,
    consents,
    links_in,
    load_lists,
    outbox,
    statuses,
    subscribe_api,
    unsubscribe_path,
)


def subscribe_with_a_link_signed_73_hours_ago(client, monkeypatch, email):
    """CONFIRM_TTL_HOURS is 72: the mail's link has expired by the time the reader opens it."""
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 73 * 3600)
        subscribe_api(client, email)


def test_confirmation_mail_has_exactly_one_confirm_link_in_text_and_html(lists, client):
    subscribe_api(client, "reader@example.com")
    (mail,) = outbox(lists, "confirm")
    text_links = links_in(mail.text_body, "/confirm/")
    html_links = links_in(mail.html_body, "/confirm/")
    assert len(text_links) == 1 and html_links == text_links
    assert text_links[0].startswith("http://newsroom.test/confirm/")
    assert mail.subject == "Please confirm your subscription"


def test_get_shows_a_button_and_does_not_confirm(lists, client):
    subscribe_api(client, "reader@example.com")
    response = client.get(confirm_path(lists))
    assert response.status_code == 200
    assert '<button type="submit">Yes, subscribe me</button>' in response.get_data(as_text=True)
    assert statuses(lists, "reader@example.com") == {"explaining-ukraine": "pending"}
    assert outbox(lists, "welcome") == []


def test_post_confirms_shows_lists_preferences_and_membership(lists, client):
    subscribe_api(client, "reader@example.com", ["explaining-ukraine", "investigations"])
    response = client.post(confirm_path(lists))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "You are subscribed" in page
    assert "Explaining Ukraine with Kate Tsurkan" in page and "Investigations" in page
    assert 'href="/preferences/' in page
    assert 'href="/membership"' in page
    assert statuses(lists, "reader@example.com") == {
        "explaining-ukraine": "confirmed",
        "investigations": "confirmed",
    }


def test_confirming_sets_the_consent_confirmation_time(lists, client):
    subscribe_api(client, "reader@example.com")
    client.post(confirm_path(lists))
    (consent,) = consents(lists)
    assert consent.confirmed_at is not None
    assert consent.confirmed_at >= consent.signed_up_at


def test_confirming_twice_is_harmless_and_sends_one_welcome(lists, client):
    subscribe_api(client, "reader@example.com")
    path = confirm_path(lists)
    client.post(path)
    again = client.post(path)
    assert again.status_code == 200
    assert "already confirmed" in again.get_data(as_text=True)
    assert len(outbox(lists, "welcome")) == 1


def test_old_link_after_leaving_says_the_reader_left_not_that_they_are_subscribed(lists, client):
    subscribe_api(client, "reader@example.com", ["morning-briefing"])
    path = confirm_path(lists)
    client.post(path)
    (welcome,) = outbox(lists, "welcome")
    client.post(unsubscribe_path(welcome), data={"scope": "all"})

    again = client.post(path)
    page = again.get_data(as_text=True)
    assert again.status_code == 200
    assert "already confirmed" not in page
    assert "You left Morning Briefing" in page
    assert 'href="/preferences/' in page
    assert statuses(lists, "reader@example.com") == {"morning-briefing": "unsubscribed"}


def test_welcome_mail_carries_list_headers_and_links(lists, client):
    subscribe_api(client, "reader@example.com", ["morning-briefing"])
    client.post(confirm_path(lists))
    (welcome,) = outbox(lists, "welcome")
    assert welcome.headers["List-Id"] == '"Morning Briefing" <morning-briefing.newsroom.test>'
    unsubscribe = welcome.headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://newsroom.test/unsubscribe/")
    assert welcome.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert links_in(welcome.text_body, "/preferences/")
    assert unsubscribe.strip("<>") in welcome.text_body
    assert unsubscribe.strip("<>") in welcome.html_body


def test_tampered_link_is_a_400_page_offering_to_sign_up_again(lists, client):
    subscribe_api(client, "reader@example.com")
    path = confirm_path(lists)
    for method in (client.get, client.post):
        response = method(tampered(path))
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "This link is not valid" in page
        assert 'action="/subscribe"' in page
        assert "Traceback" not in page
    assert statuses(lists, "reader@example.com") == {"explaining-ukraine": "pending"}


def test_garbage_token_is_a_400_page(lists, client):
    assert client.post("/confirm/not.a.token").status_code == 400
    assert client.get("/confirm/%00%ff").status_code == 400


def test_expired_link_is_a_410_page_offering_a_fresh_link(lists, client, monkeypatch):
    subscribe_with_a_link_signed_73_hours_ago(client, monkeypatch, "reader@example.com")
    path = confirm_path(lists)
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 410
        assert "Send me a new link" in response.get_data(as_text=True)
    assert statuses(lists, "reader@example.com") == {"explaining-ukraine": "pending"}


def test_fresh_link_from_the_expired_page_confirms(make_app, monkeypatch):
    app = load_lists(make_app(CONFIRMATION_GAP_SECONDS=0))
    client = app.test_client()
    subscribe_with_a_link_signed_73_hours_ago(client, monkeypatch, "reader@example.com")
    expired = confirm_path(app)
    response = client.post(expired + "/resend")
    assert response.status_code == 200
    fresh = confirm_path(app)
    assert fresh != expired
    assert client.post(fresh).status_code == 200
    assert statuses(app, "reader@example.com") == {"explaining-ukraine": "confirmed"}


def test_resend_needs_a_genuine_signature(lists, client):
    response = client.post("/confirm/forged.token.here/resend")
    assert response.status_code == 400
    assert outbox(lists) == []


def test_link_of_a_deleted_subscriber_is_a_404_page(lists, client):
    """CONTRACT.md: once a reader's data is gone, their old links answer 404."""
    subscribe_api(client, "reader@example.com")
    path = confirm_path(lists)
    with lists.app_context():
        db.session.query(Subscriber).delete()
        db.session.commit()
    response = client.post(path)
    assert response.status_code == 404
    assert "This link no longer works" in response.get_data(as_text=True)
