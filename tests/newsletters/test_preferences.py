"""The preferences page: a reader's lists, with join and leave."""

from __future__ import annotations

import re

from tests.links import tampered
from tests.newsletters import helpers
from tests.newsletters.helpers import (
    confirm_path,
    outbox,
    statuses,
    subscribe_and_confirm,
    subscribe_api,
)


def preferences_path(app) -> str:
    (welcome,) = outbox(app, "welcome")
    return helpers.preferences_path(welcome)


def test_page_lists_every_newsletter_with_the_readers_ones_ticked(lists, client):
    subscribe_and_confirm(lists, client, "reader@example.com", ["investigations"])
    page = client.get(preferences_path(lists)).get_data(as_text=True)
    assert "reader@example.com" in page
    assert re.search(r'value="investigations" checked', page)
    assert re.search(r'value="morning-briefing">', page)
    assert "Explaining Ukraine with Kate Tsurkan" in page


def test_confirmed_reader_joins_and_leaves_lists_at_once(lists, client):
    subscribe_and_confirm(lists, client, "reader@example.com", ["investigations"])
    response = client.post(
        preferences_path(lists), data={"newsletters": ["morning-briefing", "culture-notes"]}
    )
    assert response.status_code == 200
    assert statuses(lists, "reader@example.com") == {
        "investigations": "unsubscribed",
        "morning-briefing": "confirmed",
        "culture-notes": "confirmed",
    }
    assert len(outbox(lists, "confirm")) == 1


def test_leave_all_button_leaves_everything(lists, client):
    subscribe_and_confirm(lists, client, "reader@example.com", ["investigations"])
    client.post(preferences_path(lists), data={"action": "leave-all"})
    assert statuses(lists, "reader@example.com") == {"investigations": "unsubscribed"}


def test_reader_without_a_confirmed_list_joins_through_a_confirmation(lists, client):
    subscribe_and_confirm(lists, client, "reader@example.com", ["investigations"])
    path = preferences_path(lists)
    client.post(path, data={"action": "leave-all"})
    response = client.post(path, data={"newsletters": ["morning-briefing"]})
    assert "We have sent you an email to confirm" in response.get_data(as_text=True)
    assert statuses(lists, "reader@example.com")["morning-briefing"] == "pending"
    client.post(confirm_path(lists))
    assert statuses(lists, "reader@example.com")["morning-briefing"] == "confirmed"


def test_pending_lists_stay_pending_when_saved_again(lists, client):
    subscribe_and_confirm(lists, client, "reader@example.com", ["investigations"])
    subscribe_api(client, "reader@example.com", ["morning-briefing"])
    client.post(
        preferences_path(lists), data={"newsletters": ["investigations", "morning-briefing"]}
    )
    assert statuses(lists, "reader@example.com") == {
        "investigations": "confirmed",
        "morning-briefing": "pending",
    }


def test_tampered_preferences_link_is_a_400_page(lists, client):
    subscribe_and_confirm(lists, client, "reader@example.com")
    path = tampered(preferences_path(lists))
    assert client.get(path).status_code == 400
    assert client.post(path, data={"action": "leave-all"}).status_code == 400
    assert statuses(lists, "reader@example.com") == {"explaining-ukraine": "confirmed"}
