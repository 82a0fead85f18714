"""Leaving: the unsubscribe page, RFC 8058 one-click, one list or every list."""

from __future__ import annotations

from tests.links import tampered
from tests.newsletters.helpers import (
    load_lists,
    outbox,
    statuses,
    subscribe_and_confirm,
    unsubscribe_path,
)


def one_click_path(app) -> str:
    (welcome,) = outbox(app, "welcome")
    return unsubscribe_path(welcome)


def morning_briefing_link(app, client) -> str:
    """A reader of Morning Briefing and Investigations: the first welcome's one-click link."""
    subscribe_and_confirm(app, client, "reader@example.com", ["morning-briefing"])
    subscribe_and_confirm(app, client, "reader@example.com", ["investigations"])
    (first_welcome, _) = outbox(app, "welcome")
    return unsubscribe_path(first_welcome)


def test_one_click_post_unsubscribes_without_session_or_csrf(make_app):
    app = load_lists(make_app(WTF_CSRF_ENABLED=True))
    client = app.test_client()
    subscribe_and_confirm(app, client, "reader@example.com", ["morning-briefing"])
    mail_client = app.test_client()  # a mail provider: no cookies, no token but the link's
    response = mail_client.post(
        one_click_path(app),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert statuses(app, "reader@example.com") == {"morning-briefing": "unsubscribed"}


def test_one_click_leaves_only_the_lists_of_that_mail(lists, client):
    client.post(morning_briefing_link(lists, client), data={"List-Unsubscribe": "One-Click"})
    assert statuses(lists, "reader@example.com") == {
        "morning-briefing": "unsubscribed",
        "investigations": "confirmed",
    }


def test_get_shows_a_button_and_changes_nothing(lists, client):
    subscribe_and_confirm(lists, client, "reader@example.com")
    response = client.get(one_click_path(lists))
    assert response.status_code == 200
    assert '<button type="submit">Unsubscribe</button>' in response.get_data(as_text=True)
    assert statuses(lists, "reader@example.com") == {"explaining-ukraine": "confirmed"}


def test_button_on_the_page_unsubscribes(lists, client):
    subscribe_and_confirm(lists, client, "reader@example.com")
    response = client.post(one_click_path(lists))
    assert response.status_code == 200
    assert "You are unsubscribed" in response.get_data(as_text=True)
    assert statuses(lists, "reader@example.com") == {"explaining-ukraine": "unsubscribed"}


def test_leave_all_button_leaves_every_list(lists, client):
    client.post(morning_briefing_link(lists, client), data={"scope": "all"})
    assert set(statuses(lists, "reader@example.com").values()) == {"unsubscribed"}


def test_unsubscribing_twice_is_harmless(lists, client):
    subscribe_and_confirm(lists, client, "reader@example.com")
    path = one_click_path(lists)
    client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200


def test_tampered_unsubscribe_link_is_a_400_page(lists, client):
    subscribe_and_confirm(lists, client, "reader@example.com")
    path = tampered(one_click_path(lists))
    assert client.get(path).status_code == 400
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert statuses(lists, "reader@example.com") == {"explaining-ukraine": "confirmed"}


UKRAINIAN = {"Accept-Language": "uk-UA,uk;q=0.9"}
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def test_one_click_answers_one_plain_line_in_the_requests_language(lists, client):
    subscribe_and_confirm(lists, client, "reader@example.com")
    provider = lists.test_client()
    english = provider.post(one_click_path(lists), data=ONE_CLICK)
    ukrainian = provider.post(one_click_path(lists), data=ONE_CLICK, headers=UKRAINIAN)
    assert english.get_data(as_text=True) == "You are unsubscribed.\n"
    assert ukrainian.get_data(as_text=True) == "Ви відписалися.\n"
    assert ukrainian.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_a_one_click_on_a_broken_link_is_told_so_in_the_requests_language(lists, client):
    subscribe_and_confirm(lists, client, "reader@example.com")
    broken = tampered(one_click_path(lists))
    response = lists.test_client().post(broken, data=ONE_CLICK, headers=UKRAINIAN)
    assert response.status_code == 400
    assert response.get_data(as_text=True) == "Посилання недійсне.\n"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
