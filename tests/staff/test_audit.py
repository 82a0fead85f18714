"""The audit log: what staff did, with who and from where, and the page admins read it on."""

from __future__ import annotations

from sqlalchemy import select

from extensions import db
from staff.models import AuditLog
from tests.staff.conftest import sign_in


def test_a_failed_sign_in_is_logged_with_the_address_tried_and_the_client(client, editor):
    client.post(
        "/staff/login",
        data={"email": editor.email, "password": "not it at all"},
        environ_base={"REMOTE_ADDR": "203.0.113.77"},
    )
    entry = db.session.scalars(select(AuditLog)).one()
    assert entry.action == "login_failed"
    assert entry.staff_id == editor.id
    assert entry.ip == "203.0.113.77"
    assert entry.detail == "editor@newsroom.test: wrong password"


def test_a_failed_sign_in_to_an_unknown_account_is_logged_without_an_account(client, app_ctx):
    sign_in(client, "ghost@newsroom.test")
    entry = db.session.scalars(select(AuditLog)).one()
    assert (entry.action, entry.staff_id) == ("login_failed", None)
    assert "unknown account" in entry.detail


def test_a_sign_in_is_logged(client, editor):
    sign_in(client, editor.email)
    entry = db.session.scalars(select(AuditLog)).one()
    assert (entry.action, entry.staff_id) == ("login", editor.id)


def test_admins_read_the_audit_log_newest_first(admin_client, admin):
    admin_client.post("/staff/settings/goal", data={"goal": "30000"})
    page = admin_client.get("/staff/audit").get_data(as_text=True)
    assert page.index("goal_changed") < page.index("login")
    assert "20000 → 30000" in page
    assert admin.email in page


def test_the_audit_log_pages_back_in_time(admin_client, admin):
    for n in range(105):
        db.session.add(AuditLog(staff_id=admin.id, action="test_entry", detail=f"entry {n}"))
    db.session.commit()
    first = admin_client.get("/staff/audit").get_data(as_text=True)
    assert "entry 104" in first and "entry 3<" not in first
    assert "Older entries" in first
    oldest_shown = db.session.scalars(
        select(AuditLog.id).order_by(AuditLog.id.desc()).offset(99).limit(1)
    ).one()
    older = admin_client.get(f"/staff/audit?before={oldest_shown}").get_data(as_text=True)
    assert "entry 3<" in older and "entry 104" not in older


def test_a_password_typed_into_the_email_field_is_not_written_to_the_audit_log(app, admin):
    client = app.test_client()
    sign_in(client, "my secret password", password="wrong")
    with app.app_context():
        details = db.session.scalars(select(AuditLog.detail)).all()
    assert details and all("my secret password" not in detail for detail in details)
