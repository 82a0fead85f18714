"""Admins take a reader's data out or erase it from the reader's staff page; both audited."""

from __future__ import annotations

import json

from sqlalchemy import select

from extensions import db
from mailer.suppressions import address_hash, is_suppressed
from newsletters.models import Subscriber
from privacy.models import Erasure
from staff.models import AuditLog
from tests.staff.factories import make_consent, make_newsletter, make_subscriber, subscribe

READER = "olena@example.com"


def _reader() -> Subscriber:
    subscriber = make_subscriber(READER)
    subscribe(subscriber, make_newsletter("daily"))
    make_consent(subscriber, "daily", ip="203.0.113.9")
    return subscriber


def test_the_reader_page_offers_admins_the_data_and_the_erasure(admin_client):
    reader = _reader()

    page = admin_client.get(f"/staff/people/subscribers/{reader.id}").get_data(as_text=True)

    assert f'href="/staff/people/subscribers/{reader.id}/data.json"' in page
    assert f'href="/staff/people/subscribers/{reader.id}/erase"' in page


def test_erasing_asks_for_confirmation_first(admin_client):
    reader = _reader()

    page = admin_client.get(f"/staff/people/subscribers/{reader.id}/erase")

    assert page.status_code == 200
    assert "Erase this reader's data</button>" in page.get_data(as_text=True)
    assert db.session.get(Subscriber, reader.id) is not None


def test_an_admin_erases_a_reader_and_the_audit_names_no_address(admin_client, admin):
    reader = _reader()
    reader_id = reader.id

    response = admin_client.post(f"/staff/people/subscribers/{reader_id}/erase")

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Subscriber, reader_id) is None
    assert is_suppressed(READER)
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "erase_reader")).one()
    assert entry.staff_id == admin.id
    assert entry.detail.startswith(f"subscriber #{reader_id} (hash {address_hash(READER)[:12]})")
    assert READER not in entry.detail
    erasure = db.session.scalars(select(Erasure)).one()
    assert erasure.requested_by == "staff"
    assert admin_client.get(f"/staff/people/subscribers/{reader_id}").status_code == 404


def test_an_admin_downloads_a_readers_data_and_it_is_audited(admin_client, admin):
    reader = _reader()

    response = admin_client.get(f"/staff/people/subscribers/{reader.id}/data.json")

    export = json.loads(response.get_data(as_text=True))
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert export["email"] == READER
    assert export["consent_records"][0]["ip"] == "203.0.113.9"
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "export_reader_data"))
    assert entry.one().detail == f"subscriber #{reader.id}"


def test_editors_can_neither_erase_nor_download(editor_client):
    reader = _reader()
    base = f"/staff/people/subscribers/{reader.id}"

    assert editor_client.get(f"{base}/erase").status_code == 403
    assert editor_client.post(f"{base}/erase").status_code == 403
    assert editor_client.get(f"{base}/data.json").status_code == 403
    db.session.expire_all()
    assert db.session.get(Subscriber, reader.id) is not None


def test_erasing_a_reader_who_is_gone_answers_404(admin_client):
    assert admin_client.post("/staff/people/subscribers/999/erase").status_code == 404
