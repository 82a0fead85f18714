"""How often one address is mailed by signups: a signup form must not be a spam cannon."""

from __future__ import annotations

from datetime import timedelta

import pytest

from extensions import db
from newsletters.models import Subscriber
from tests.newsletters.helpers import (
    confirm_path,
    load_lists,
    outbox,
    statuses,
    subscribe_and_confirm,
    subscribe_api,
    unsubscribe_path,
)


@pytest.fixture
def app(make_app):
    """No minimum gap between confirmations, so repeated signups within a test count."""
    return load_lists(make_app(CONFIRMATION_GAP_SECONDS=0))


def test_pending_signup_again_resends_the_confirmation(app, client):
    subscribe_api(client, "reader@example.com")
    subscribe_api(client, "reader@example.com")
    assert len(outbox(app, "confirm")) == 2


def test_pending_address_gets_at_most_three_confirmations_a_day(app, client):
    for _ in range(6):
        assert subscribe_api(client, "reader@example.com").status_code == 202
    assert len(outbox(app, "confirm")) == 3


def test_daily_cap_follows_the_setting(make_app):
    app = load_lists(make_app(CONFIRMATION_GAP_SECONDS=0, CONFIRMATIONS_PER_DAY=1))
    client = app.test_client()
    for _ in range(3):
        subscribe_api(client, "reader@example.com")
    assert len(outbox(app, "confirm")) == 1


def test_cap_resets_the_next_day(app, client):
    for _ in range(4):
        subscribe_api(client, "reader@example.com")
    with app.app_context():
        subscriber = db.session.query(Subscriber).one()
        subscriber.confirmations_day -= timedelta(days=1)
        db.session.commit()
    subscribe_api(client, "reader@example.com")
    assert len(outbox(app, "confirm")) == 4


def test_signups_seconds_apart_send_one_confirmation_by_default(make_app):
    app = load_lists(make_app())
    client = app.test_client()
    subscribe_api(client, "reader@example.com")
    subscribe_api(client, "reader@example.com")
    assert len(outbox(app, "confirm")) == 1


def test_every_resent_link_confirms(app, client):
    subscribe_api(client, "reader@example.com")
    first = confirm_path(app)
    subscribe_api(client, "reader@example.com")
    second = confirm_path(app)
    assert first != second
    assert client.post(first).status_code == 200
    assert client.post(second).status_code == 200
    assert len(outbox(app, "welcome")) == 1


def test_confirmed_address_gets_no_new_confirmation(app, client):
    subscribe_and_confirm(app, client, "reader@example.com")
    subscribe_api(client, "reader@example.com")
    assert len(outbox(app, "confirm")) == 1


def test_confirmed_address_gets_one_already_subscribed_mail_a_day(app, client):
    subscribe_and_confirm(app, client, "reader@example.com")
    for _ in range(3):
        subscribe_api(client, "reader@example.com")
    (notice,) = outbox(app, "already_subscribed")
    assert notice.to_addr == "reader@example.com"
    assert "/preferences/" in notice.text_body


def test_confirmed_address_asking_for_a_new_list_gets_a_confirmation_for_it(app, client):
    subscribe_and_confirm(app, client, "reader@example.com")
    subscribe_api(client, "reader@example.com", ["explaining-ukraine", "investigations"])
    confirmations = outbox(app, "confirm")
    assert len(confirmations) == 2
    assert "Investigations" in confirmations[-1].text_body
    assert "Explaining Ukraine" not in confirmations[-1].text_body
    assert statuses(app, "reader@example.com") == {
        "explaining-ukraine": "confirmed",
        "investigations": "pending",
    }


def test_unsubscribed_address_rejoins_only_through_a_new_confirmation(app, client):
    subscribe_and_confirm(app, client, "reader@example.com")
    (welcome,) = outbox(app, "welcome")
    client.post(unsubscribe_path(welcome), data={"List-Unsubscribe": "One-Click"})
    assert statuses(app, "reader@example.com") == {"explaining-ukraine": "unsubscribed"}

    subscribe_api(client, "reader@example.com")
    assert statuses(app, "reader@example.com") == {"explaining-ukraine": "pending"}
    assert len(outbox(app, "confirm")) == 2
    client.post(confirm_path(app))
    assert statuses(app, "reader@example.com") == {"explaining-ukraine": "confirmed"}


def test_old_confirmation_link_does_not_undo_an_unsubscribe(app, client):
    subscribe_api(client, "reader@example.com")
    path = confirm_path(app)
    client.post(path)
    (welcome,) = outbox(app, "welcome")
    client.post(unsubscribe_path(welcome), data={"List-Unsubscribe": "One-Click"})
    client.post(path)
    assert statuses(app, "reader@example.com") == {"explaining-ukraine": "unsubscribed"}
