"""A reader has their data erased: through a mailed link and a button, and nothing comes back."""

from __future__ import annotations

import logging
import time

import itsdangerous.timed
from sqlalchemy import func, select

from extensions import db
from mailer.models import OutboxMessage
from mailer.suppression_models import ERASED, Suppression
from mailer.suppressions import address_hash, is_suppressed
from newsletters.models import Consent, Subscriber, Subscription
from privacy.models import Erasure
from tests.campaigns.helpers import create, send
from tests.newsletters.helpers import (
    confirm_path,
    load_lists,
    outbox,
    preferences_path,
    statuses,
    subscribe_api,
    unsubscribe_path,
)
from tests.privacy.helpers import confirmed_reader, data_link, erasure_link

READER = "olena@example.com"
OTHER = "petro@example.com"


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_asking_to_delete_mails_a_link_and_deletes_nothing_yet(lists, client):
    preferences = confirmed_reader(lists, client, READER)

    response = client.post(f"{preferences}/erase")

    assert response.status_code == 200
    assert f"We have sent a link to {READER}." in response.get_data(as_text=True)
    (mail,) = outbox(lists, "erasure_link")
    assert mail.to_addr == READER and "/privacy/erase/" in mail.text_body
    assert statuses(lists, READER) == {"explaining-ukraine": "confirmed"}


def test_the_mailed_link_shows_a_button_and_opening_it_deletes_nothing(lists, client):
    preferences = confirmed_reader(lists, client, READER)
    link = erasure_link(lists, client, preferences, READER)

    page = client.get(link).get_data(as_text=True)

    assert f'<form method="post" action="{link}">' in page
    assert "Delete my data" in page
    assert statuses(lists, READER) == {"explaining-ukraine": "confirmed"}


def test_erasing_deletes_every_row_naming_the_reader(lists, client):
    preferences = confirmed_reader(lists, client, READER)

    response = client.post(erasure_link(lists, client, preferences, READER))

    assert response.status_code == 200
    assert "Your data has been deleted" in response.get_data(as_text=True)
    assert count(lists, Subscriber) == 0
    assert count(lists, Subscription) == 0
    assert count(lists, Consent) == 0
    assert count(lists, OutboxMessage) == 0


def test_only_a_keyed_hash_of_the_address_stays_among_the_suppressions(lists, client):
    preferences = confirmed_reader(lists, client, READER)

    client.post(erasure_link(lists, client, preferences, READER))

    with lists.app_context():
        (entry,) = db.session.scalars(select(Suppression))
        assert (entry.address, entry.reason, entry.detail) == (None, ERASED, "")
        assert entry.address_hash == address_hash(READER)
        assert is_suppressed(READER)


def test_other_readers_keep_their_data(lists, client):
    preferences = confirmed_reader(lists, client, READER)
    confirmed_reader(lists, client, OTHER)

    client.post(erasure_link(lists, client, preferences, READER))

    assert statuses(lists, OTHER) == {"explaining-ukraine": "confirmed"}
    assert count(lists, OutboxMessage, OutboxMessage.to_addr == OTHER) == 2
    with lists.app_context():
        assert not is_suppressed(OTHER)


def test_the_erasure_is_recorded_without_the_address(lists, client, caplog):
    preferences = confirmed_reader(lists, client, READER)
    with lists.app_context():
        reader_id = db.session.scalar(select(Subscriber.id))

    with caplog.at_level(logging.INFO):
        client.post(erasure_link(lists, client, preferences, READER))

    with lists.app_context():
        (entry,) = db.session.scalars(select(Erasure))
        assert entry.subscriber_id == reader_id
        assert entry.requested_by == "reader"
        assert entry.address_hash_prefix == address_hash(READER)[:12]
        assert entry.removed["subscriptions"] == 1 and entry.removed["consent_records"] == 1
        assert READER not in repr([entry.address_hash_prefix, entry.requested_by, entry.removed])
    assert f"reader #{reader_id} erased" in caplog.text
    assert READER not in caplog.text


def test_every_old_link_of_the_reader_answers_404_afterwards(lists, client):
    subscribe_api(client, READER)
    confirm = confirm_path(lists, READER)
    client.post(confirm)
    (welcome,) = outbox(lists, "welcome")
    preferences, unsubscribe = preferences_path(welcome), unsubscribe_path(welcome)
    data = data_link(lists, client, preferences, READER)
    erase = erasure_link(lists, client, preferences, READER)

    client.post(erase)

    for method, path in [
        ("get", confirm),
        ("post", confirm),
        ("get", preferences),
        ("post", preferences),
        ("post", f"{preferences}/data"),
        ("post", f"{preferences}/erase"),
        ("get", unsubscribe),
        ("post", unsubscribe),
        ("get", data),
        ("get", erase),
        ("post", erase),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 404, (method, path)
    assert "This link no longer works" in client.get(preferences).get_data(as_text=True)
    one_click = client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 404


def test_reimporting_an_erased_address_skips_it_as_suppressed(lists, client, runner, tmp_path):
    preferences = confirmed_reader(lists, client, READER)
    client.post(erasure_link(lists, client, preferences, READER))
    path = tmp_path / "audience.csv"
    path.write_text(f"email\n{READER.upper()}\n{OTHER}\n")

    result = runner.invoke(
        args=["subscribers", "import", str(path), "--newsletter", "explaining-ukraine"]
    )

    assert result.stdout.splitlines()[-1] == "imported 1, skipped 1, suppressed 0"
    assert statuses(lists, READER) == {}
    with lists.app_context():
        assert is_suppressed(READER)


def test_a_new_signup_after_erasure_gets_its_confirmation_and_confirming_lifts_it(lists, client):
    preferences = confirmed_reader(lists, client, READER)
    client.post(erasure_link(lists, client, preferences, READER))

    assert subscribe_api(client, READER).status_code == 202
    assert [mail.to_addr for mail in outbox(lists, "confirm")] == [READER]
    client.post(confirm_path(lists, READER))

    assert statuses(lists, READER) == {"explaining-ukraine": "confirmed"}
    with lists.app_context():
        assert not is_suppressed(READER)
    assert [mail.to_addr for mail in outbox(lists, "welcome")] == [READER]


def test_confirming_lifts_an_earlier_suppression_of_the_address(lists, client, runner):
    runner.invoke(args=["suppressions", "add", READER, "--reason", "bounced in 2023"])
    subscribe_api(client, READER)

    client.post(confirm_path(lists, READER))

    with lists.app_context():
        assert not is_suppressed(READER)


def test_the_erasure_link_expires_after_24_hours(lists, client, monkeypatch):
    preferences = confirmed_reader(lists, client, READER)
    then = int(time.time() - 24.1 * 3600)
    with monkeypatch.context() as clock:
        clock.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: then)
        link = erasure_link(lists, client, preferences, READER)

    assert client.get(link).status_code == 410
    assert client.post(link).status_code == 410
    assert statuses(lists, READER) == {"explaining-ukraine": "confirmed"}


def test_asking_for_links_again_and_again_is_limited_per_reader(make_app):
    app = load_lists(make_app(RATELIMIT_ENABLED=True, RATELIMIT_PRIVACY_LINKS="2/hour"))
    client = app.test_client()
    preferences = confirmed_reader(app, client, READER)

    answers = [
        client.post(f"{preferences}/{what}").status_code for what in ("data", "erase", "data")
    ]

    assert answers == [200, 200, 429]
    assert len(outbox(app, "data_export_link")) + len(outbox(app, "erasure_link")) == 2


def test_campaign_mail_to_an_erased_reader_stays_for_the_figures_naming_nobody(lists, client):
    preferences = confirmed_reader(lists, client, READER)
    confirmed_reader(lists, client, OTHER)
    campaign_id = create(lists, "explaining-ukraine")
    send(lists, campaign_id)

    client.post(erasure_link(lists, client, preferences, READER))

    with lists.app_context():
        rows = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.campaign_id == campaign_id)
            .order_by(OutboxMessage.to_addr)
        ).all()
        assert [(row.to_addr, row.status) for row in rows] == [("", "cancelled"), (OTHER, "queued")]
        assert (rows[0].subscriber_id, rows[0].context) == (None, None)
