"""Admins import a subscriber file from a staff page and see the command's report."""

from __future__ import annotations

import csv
import io
import os
import re
import time

import pytest
from sqlalchemy import func, select

from extensions import db
from newsletters.lists import load_demo_lists
from newsletters.models import Subscriber
from staff.imports import delete_old_reports, reports_folder
from staff.models import AuditLog
from tests.staff.conftest import sign_in
from tests.staff.factories import make_staff
from tools.make_mailchimp_export import write_export

SLUG = "explaining-ukraine"


@pytest.fixture
def demo_lists(app_ctx):
    load_demo_lists()
    db.session.commit()


def upload(client, content: bytes, name: str = "audience.csv", **fields):
    data = {"file": (io.BytesIO(content), name), "newsletter": SLUG, **fields}
    return client.post("/staff/import", data=data, content_type="multipart/form-data")


def subscribers() -> int:
    return db.session.scalar(select(func.count()).select_from(Subscriber))


def test_an_admin_imports_a_file_and_sees_the_summary(admin_client, demo_lists, tmp_path):
    path = tmp_path / "subscribed.csv"
    manifest = write_export(path, rows=400, bad_every=50, newline_every=20)

    response = upload(admin_client, path.read_bytes(), "subscribed.csv")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    skipped = manifest.rows - manifest.usable
    assert f"imported {manifest.usable}, skipped {skipped}, suppressed 0" in page
    assert "Mailchimp export of subscribed contacts" in page
    assert subscribers() == manifest.usable


def test_the_rejected_rows_download_lists_their_line_numbers(admin_client, demo_lists, tmp_path):
    path = tmp_path / "subscribed.csv"
    manifest = write_export(path, rows=400, bad_every=50, newline_every=20)
    page = upload(admin_client, path.read_bytes()).get_data(as_text=True)
    link = re.search(r'href="(/staff/import/rejected/[^"]+\.csv)"', page).group(1)

    download = admin_client.get(link)

    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    expected = sorted(manifest.reader_problems + manifest.invalid_addresses)
    assert [int(row["line"]) for row in rows] == expected


def test_a_file_past_the_general_16_kib_limit_is_accepted(admin_client, demo_lists):
    content = "email\n" + "".join(f"reader{n:05d}@example.com\n" for n in range(2000))

    response = upload(admin_client, content.encode())

    assert len(content) > 16 * 1024
    assert "imported 2000, skipped 0, suppressed 0" in response.get_data(as_text=True)


def test_a_file_past_the_upload_limit_is_refused_with_a_message(make_app):
    app = make_app(IMPORT_UPLOAD_MAX_BYTES=20 * 1024)
    with app.app_context():
        load_demo_lists()
        make_staff("admin@newsroom.test", role="admin")
    client = app.test_client()
    sign_in(client, "admin@newsroom.test")
    content = "email\n" + "".join(f"reader{n:05d}@example.com\n" for n in range(1500))

    response = upload(client, content.encode())

    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "The file is larger than 20 KB: import it with `flask subscribers import`." in page
    with app.app_context():
        assert subscribers() == 0


def test_a_file_that_cannot_be_read_is_refused_and_nothing_imported(admin_client, demo_lists):
    response = upload(admin_client, "naïve@example.com\n".encode("cp1252"))

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The file is not UTF-8" in page and "Nothing was imported." in page
    assert subscribers() == 0


def test_naming_the_encoding_reads_the_file(admin_client, demo_lists):
    content = "email;name\nolena@example.com;Олена\n".encode("cp1251")

    response = upload(admin_client, content, encoding="cp1251")

    assert "imported 1, skipped 0, suppressed 0" in response.get_data(as_text=True)


def test_importing_is_audited(admin_client, admin, demo_lists):
    upload(admin_client, b"email\nolena@example.com\n", "spring-fair.csv")

    entry = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "import_subscribers")
    ).one()
    assert entry.staff_id == admin.id
    assert entry.detail == (
        f"spring-fair.csv into {SLUG}: imported 1, skipped 0, suppressed 0; 0 rejected"
    )


def test_editors_cannot_import(editor_client, demo_lists):
    assert editor_client.get("/staff/import").status_code == 403
    assert upload(editor_client, b"email\nolena@example.com\n").status_code == 403
    assert subscribers() == 0


def test_the_upload_without_a_csrf_token_imports_nothing(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        load_demo_lists()
        make_staff("admin@newsroom.test", role="admin")
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    sign_in(client, "admin@newsroom.test", csrf_token=token)
    form = client.get("/staff/import").get_data(as_text=True)
    assert 'name="csrf_token"' in form

    refused = upload(client, b"email\nolena@example.com\n")

    assert refused.status_code == 400
    with app.app_context():
        assert subscribers() == 0
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    accepted = upload(client, b"email\nolena@example.com\n", csrf_token=token)
    assert "imported 1, skipped 0, suppressed 0" in accepted.get_data(as_text=True)


def test_rejected_row_files_are_deleted_after_a_week(admin_client, demo_lists):
    upload(admin_client, b"email\nnot an address\n")
    (report,) = list(reports_folder().glob("*.csv"))
    eight_days_ago = time.time() - 8 * 86400
    os.utime(report, (eight_days_ago, eight_days_ago))

    assert delete_old_reports() == 1
    assert not report.exists()
