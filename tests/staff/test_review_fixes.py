"""Inputs that used to end in a 500 or a lost mail on staff pages, and what staff see now."""

from sqlalchemy import select

from extensions import db
from newsletters.models import Newsletter
from staff.models import AuditLog
from tests.staff.conftest import sign_in
from tests.staff.factories import make_newsletter

HUGE_ID = "99999999999999999999999"


def test_a_next_link_with_a_line_break_lands_on_the_dashboard_not_an_error(admin_client):
    response = admin_client.get("/staff/login?next=/staff/%0D%0AX-Evil:%201")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/")
    assert "X-Evil" not in response.headers


def test_a_list_made_by_the_command_with_an_underscore_can_be_edited(app, admin_client):
    with app.app_context():
        newsletter = make_newsletter("week_in_review", name="Week in review")
        list_id = newsletter.id
    response = admin_client.post(
        f"/staff/lists/{list_id}/edit",
        data={"name": "The week in review", "description": "", "is_default": ""},
    )
    assert response.status_code in (200, 302)
    with app.app_context():
        assert db.session.get(Newsletter, list_id).name == "The week in review"


def test_a_list_name_with_a_line_break_is_kept_on_one_line(app, admin_client):
    admin_client.post(
        "/staff/lists/new",
        data={"slug": "evening", "name": "Evening\r\nBcc: someone@example.com", "description": ""},
    )
    with app.app_context():
        stored = db.session.scalar(select(Newsletter.name).where(Newsletter.slug == "evening"))
    assert stored == "Evening Bcc: someone@example.com"


def test_ids_too_large_for_the_database_are_not_found_rather_than_an_error(admin_client):
    assert admin_client.get(f"/staff/lists/{HUGE_ID}").status_code == 404
    assert admin_client.get(f"/staff/people/subscribers/{HUGE_ID}").status_code == 404
    assert admin_client.get(f"/staff/audit?before={HUGE_ID}").status_code == 200
    assert admin_client.get(f"/staff/people?after={HUGE_ID}").status_code == 200


def test_a_password_typed_into_the_email_field_is_not_written_to_the_audit_log(app, admin):
    client = app.test_client()
    sign_in(client, "my secret password", password="wrong")
    with app.app_context():
        details = db.session.scalars(select(AuditLog.detail)).all()
    assert details and all("my secret password" not in detail for detail in details)
