"""A reader takes their data out: a mailed link, valid 24 hours, to one JSON file."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import itsdangerous.timed
from sqlalchemy import update

from database import utcnow
from extensions import db
from mailer.models import OutboxMessage
from mailer.suppression_models import BOUNCE
from mailer.suppressions import suppress
from newsletters.consent import API_WORDING
from signing import make_token
from tests.links import tampered
from tests.newsletters.helpers import confirm_path, outbox, preferences_path, subscribe_api
from tests.privacy.helpers import confirmed_reader, data_link
from tests.staff.factories import make_member
from tests.stripe_helpers import add_tiers, invoice, make_event, post_event

READER = "olena@example.com"


def test_the_preferences_page_offers_to_download_and_to_delete_my_data(lists, client):
    preferences = confirmed_reader(lists, client, READER)

    page = client.get(preferences).get_data(as_text=True)

    assert f'action="{preferences}/data"' in page
    assert f'action="{preferences}/erase"' in page
    assert "Download my data" in page and "Delete my data" in page


def test_asking_for_my_data_mails_a_link_and_the_page_shows_no_data(lists, client):
    preferences = confirmed_reader(lists, client, READER)

    response = client.post(f"{preferences}/data")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"We have sent a link to {READER}. It works for 24 hours." in page
    assert "/privacy/data/" not in page
    (mail,) = outbox(lists, "data_export_link")
    assert mail.to_addr == READER
    assert "/privacy/data/" in mail.text_body and "/privacy/data/" in mail.html_body


def test_the_mailed_link_downloads_one_json_file(lists, client):
    preferences = confirmed_reader(lists, client, READER)

    response = client.get(data_link(lists, client, preferences, READER))

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="my-data-')
    assert json.loads(response.get_data(as_text=True))["email"] == READER


def _member_who_paid(app, client, email: str) -> None:
    with app.app_context():
        tier = add_tiers()["member"]
        member = make_member(tier, email=email, customer="cus_olena")
        subscription_id = member.stripe_subscription_id
    paid = invoice("in_olena", subscription_id=subscription_id, customer="cus_olena", amount=1000)
    assert post_event(client, make_event("invoice.paid", paid)).status_code == 200


def test_the_file_holds_every_row_that_names_the_reader(lists, client):
    agent = {"User-Agent": "ReaderBrowser/1.0"}
    subscribe_api(client, READER, ["explaining-ukraine"], address="198.51.100.23", **agent)
    client.post(confirm_path(lists, READER))
    _member_who_paid(lists, client, READER)
    with lists.app_context():
        suppress(READER, BOUNCE, "550 5.1.1 mailbox full since March")
        db.session.commit()
    (welcome,) = outbox(lists, "welcome")

    export = client.get(data_link(lists, client, preferences_path(welcome), READER)).json

    assert export["email"] == READER
    assert export["subscriber"]["email"] == READER
    (subscription,) = export["subscriptions"]
    assert subscription["newsletter"] == "explaining-ukraine"
    assert subscription["status"] == "confirmed"
    assert subscription["confirmed_at"] is not None
    assert subscription["unsubscribed_at"] is None
    (consent,) = export["consent_records"]
    assert consent["ip"] == "198.51.100.23"
    assert consent["user_agent"] == "ReaderBrowser/1.0"
    assert consent["source"] == "api"
    assert consent["newsletters"] == ["explaining-ukraine"]
    assert consent["wording"].startswith(API_WORDING)
    assert consent["signed_up_at"] is not None and consent["confirmed_at"] is not None
    (suppression,) = export["suppressions"]
    assert suppression["reason"] == "bounce"
    assert suppression["detail"] == "550 5.1.1 mailbox full since March"
    (membership,) = export["memberships"]
    assert membership["tier"] == "Member"
    assert membership["status"] == "active"
    assert membership["stripe_customer_id"] == "cus_olena"
    assert [change["status"] for change in export["membership_history"]] == ["active"]
    (payment,) = export["payments"]
    assert (payment["stripe_invoice_id"], payment["amount"]) == ("in_olena", 1000)
    assert (payment["currency"], payment["status"]) == ("usd", "paid")
    kinds = [(mail["kind"], mail["subject"]) for mail in export["mail"]]
    assert kinds == [
        ("confirm", "Please confirm your subscription"),
        ("welcome", "Welcome to Explaining Ukraine with Kate Tsurkan"),
        ("member_welcome", "Welcome: you are now a member"),
        ("data_export_link", "Your data: the download link you asked for"),
    ]
    assert all(mail["status"] == "queued" and mail["queued_at"] for mail in export["mail"])
    assert export["retention"] == {"mail_days": 30, "unconfirmed_signup_days": 30}


def test_the_file_holds_nothing_about_other_readers(lists, client):
    preferences = confirmed_reader(lists, client, READER)
    confirmed_reader(lists, client, "petro@example.com")

    body = client.get(data_link(lists, client, preferences, READER)).get_data(as_text=True)

    assert "petro@example.com" not in body


def test_mail_older_than_the_retention_window_is_not_in_the_file(lists, client):
    preferences = confirmed_reader(lists, client, READER)
    with lists.app_context():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == "confirm")
            .values(created_at=utcnow() - timedelta(days=31))
        )
        db.session.commit()

    export = client.get(data_link(lists, client, preferences, READER)).json

    assert [mail["kind"] for mail in export["mail"]] == ["welcome", "data_export_link"]


def _link_made(app, client, preferences: str, hours_ago: float, monkeypatch) -> str:
    """A data link as if it had been mailed `hours_ago` (itsdangerous stamps it when made)."""
    then = int(time.time() - hours_ago * 3600)
    with monkeypatch.context() as clock:
        clock.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: then)
        return data_link(app, client, preferences, READER)


def test_the_link_still_works_just_before_24_hours(lists, client, monkeypatch):
    preferences = confirmed_reader(lists, client, READER)

    link = _link_made(lists, client, preferences, 23.9, monkeypatch)

    assert client.get(link).status_code == 200


def test_the_link_expires_after_24_hours(lists, client, monkeypatch):
    preferences = confirmed_reader(lists, client, READER)

    link = _link_made(lists, client, preferences, 24.1, monkeypatch)

    response = client.get(link)
    assert response.status_code == 410
    assert "This link has expired" in response.get_data(as_text=True)


def test_a_tampered_link_is_refused(lists, client):
    preferences = confirmed_reader(lists, client, READER)
    link = data_link(lists, client, preferences, READER)

    assert client.get(tampered(link)).status_code == 400


def test_a_preferences_link_is_no_data_link(lists, client):
    preferences = confirmed_reader(lists, client, READER)
    token = preferences.rsplit("/", 1)[1]

    assert client.get(f"/privacy/data/{token}").status_code == 400


def test_a_signed_link_naming_an_id_past_our_columns_is_an_invalid_link(lists, client):
    with lists.test_request_context():
        token = make_token("data-export", {"s": 2**40})

    assert client.get(f"/privacy/data/{token}").status_code == 400
