"""With CSRF protection on (as in production), the public reader endpoints need no token."""

from __future__ import annotations

import pytest

from tests.newsletters.helpers import (
    confirm_path,
    load_lists,
    outbox,
    preferences_path,
    statuses,
    subscribe_api,
    subscribe_form,
    unsubscribe_path,
)


@pytest.fixture
def app(make_app):
    return load_lists(make_app(WTF_CSRF_ENABLED=True))


def test_form_and_api_signups_need_no_csrf_token(app, client):
    assert subscribe_form(client, "a@example.com").status_code == 200
    assert subscribe_api(client, "b@example.com").status_code == 202
    assert len(outbox(app, "confirm")) == 2


def test_confirm_preferences_and_unsubscribe_need_no_csrf_token(app, client):
    subscribe_api(client, "reader@example.com")
    assert client.post(confirm_path(app)).status_code == 200
    (welcome,) = outbox(app, "welcome")
    response = client.post(preferences_path(welcome), data={"newsletters": ["investigations"]})
    assert response.status_code == 200
    assert statuses(app, "reader@example.com") == {
        "explaining-ukraine": "unsubscribed",
        "investigations": "confirmed",
    }
    assert client.post(unsubscribe_path(welcome), data={"scope": "all"}).status_code == 200
    assert set(statuses(app, "reader@example.com").values()) == {"unsubscribed"}
