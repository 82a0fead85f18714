"""The suppressions page: every suppressed address with its reason and date; admins lift one."""

from __future__ import annotations

from sqlalchemy import select

from extensions import db
from mailer.suppressions import is_suppressed, suppress, suppress_hash_only
from staff.models import AuditLog


def _suppressed(*entries: tuple[str, str, str]) -> None:
    for address, reason, detail in entries:
        suppress(address, reason, detail)
    db.session.commit()


def test_staff_see_each_suppressed_address_with_its_reason_and_date(editor_client):
    _suppressed(
        ("gone@example.com", "bounce", "550 5.1.1 user unknown"),
        ("angry@example.com", "complaint", "abuse report"),
    )
    suppress_hash_only("erased@example.com")
    db.session.commit()

    page = editor_client.get("/staff/suppressions").text

    assert "3 suppressed, newest first" in page
    assert "gone@example.com</td>\n      <td>bounce</td>" in page
    assert "550 5.1.1 user unknown" in page
    assert "(erased reader)" in page and "erased@example.com" not in page
    assert "<time datetime=" in page


def test_the_page_keeps_one_reason_when_asked(editor_client):
    _suppressed(("gone@example.com", "bounce", ""), ("angry@example.com", "complaint", ""))

    page = editor_client.get("/staff/suppressions?reason=complaint").text

    assert "angry@example.com" in page and "gone@example.com" not in page


def test_an_admin_lifts_a_suppression_and_it_is_audited(admin_client):
    _suppressed(("gone@example.com", "bounce", ""))

    response = admin_client.post(
        "/staff/suppressions/remove", data={"address": "gone@example.com"}, follow_redirects=True
    )

    assert "gone@example.com gets list mail again." in response.text
    assert not is_suppressed("gone@example.com")
    entry = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert (entry.action, entry.detail) == ("suppression_removed", "gone@example.com")


def test_editors_cannot_lift_a_suppression_nor_see_the_button(editor_client):
    _suppressed(("gone@example.com", "bounce", ""))

    page = editor_client.get("/staff/suppressions").text
    lift = {"address": "gone@example.com"}
    response = editor_client.post("/staff/suppressions/remove", data=lift)

    assert ">Remove</button>" not in page
    assert response.status_code == 403
    assert is_suppressed("gone@example.com")


def test_lifting_an_address_that_is_not_suppressed_says_so(admin_client):
    response = admin_client.post(
        "/staff/suppressions/remove", data={"address": "nobody"}, follow_redirects=True
    )

    assert "That address was not suppressed." in response.text
