"""With CSRF protection on (as in production), the public reader endpoints need no token."""

from __future__ import annotations

import pytest

from tests.newsletters.helpers import confirm_path, links_in, load_lists, outbox, path_of, statuses


@pytest.fixture
def app(make_app):
    return load_lists(make_app(WTF_CSRF_ENABLED=True))


def test_form_and_api_signups_need_no_csrf_token(app, client):
    assert client.post("/subscribe", data={"email": "a@example.com"}).status_code == 200
    assert client.post("/api/subscriptions", json={"email": "b@example.com"}).status_code == 202
    assert len(outbox(app, "confirm")) == 2


def test_confirm_preferences_and_unsubscribe_need_no_csrf_token(app, client):
    client.post("/api/subscriptions", json={"email": "reader@example.com"})
    assert client.post(confirm_path(app)).status_code == 200
    (welcome,) = outbox(app, "welcome")
    (preferences,) = links_in(welcome.text_body, "/preferences/")
    response = client.post(path_of(preferences), data={"newsletters": ["investigations"]})
    assert response.status_code == 200
    assert statuses(app, "reader@example.com") == {
        "explaining-ukraine": "unsubscribed",
        "investigations": "confirmed",
    }
    unsubscribe = path_of(welcome.headers["List-Unsubscribe"].strip("<>"))
    assert client.post(unsubscribe, data={"scope": "all"}).status_code == 200
    assert set(statuses(app, "reader@example.com").values()) == {"unsubscribed"}
