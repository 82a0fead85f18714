"""Guards: sign-in limits per address and per account, CSRF on every form, admin-only actions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from extensions import db
from membership.goal import GOAL_SETTING, goal_progress
from membership.models import AppSetting
from newsletters.models import Newsletter
from staff.models import AuditLog
from tests.staff.conftest import sign_in
from tests.staff.factories import make_newsletter, make_staff


@pytest.fixture
def limited_app(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="2/minute")
    with app.app_context():
        make_staff("editor@newsroom.test")
    return app


def _from(client, address: str, email: str, password: str = "wrong password here"):
    return client.post(
        "/staff/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_one_address_is_limited_whatever_account_it_tries(limited_app):
    client = limited_app.test_client()
    assert _from(client, "198.51.100.7", "a@newsroom.test").status_code == 422
    assert _from(client, "198.51.100.7", "b@newsroom.test").status_code == 422
    response = _from(client, "198.51.100.7", "c@newsroom.test")
    assert response.status_code == 429
    assert _from(client, "198.51.100.8", "d@newsroom.test").status_code == 422


def test_one_account_is_limited_whatever_address_tries_it(limited_app):
    client = limited_app.test_client()
    assert _from(client, "198.51.100.1", "editor@newsroom.test").status_code == 422
    assert _from(client, "198.51.100.2", "Editor@Newsroom.test").status_code == 422
    assert _from(client, "198.51.100.3", "editor@newsroom.test").status_code == 429
    assert _from(client, "198.51.100.4", "other@newsroom.test").status_code == 422


def test_past_the_limit_even_the_right_password_is_refused(limited_app):
    from tests.staff.factories import PASSWORD

    client = limited_app.test_client()
    _from(client, "198.51.100.1", "editor@newsroom.test")
    _from(client, "198.51.100.1", "editor@newsroom.test")
    response = _from(client, "198.51.100.1", "editor@newsroom.test", password=PASSWORD)
    assert response.status_code == 429
    assert client.get("/staff/").status_code == 302


def test_the_429_says_when_to_retry_in_a_readable_page(limited_app):
    client = limited_app.test_client()
    for _ in range(2):
        _from(client, "198.51.100.9", "x@newsroom.test")
    response = _from(client, "198.51.100.9", "x@newsroom.test")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    page = response.get_data(as_text=True)
    assert "Too many sign-in attempts" in page
    assert '<html lang="en">' in page


def test_showing_the_login_page_is_not_limited(limited_app):
    client = limited_app.test_client()
    for _ in range(5):
        assert client.get("/staff/login").status_code == 200


@pytest.fixture
def csrf_app(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_staff("admin@newsroom.test", role="admin")
    return app


def _token_in(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _signed_in_with_csrf(app):
    """Signs in through the form; the token changes with the session, so read it again after."""
    client = app.test_client()
    token = _token_in(client.get("/staff/login").get_data(as_text=True))
    response = sign_in(client, "admin@newsroom.test", csrf_token=token)
    assert response.status_code == 302
    return client, _token_in(client.get("/staff/").get_data(as_text=True))


def test_login_without_a_csrf_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    response = sign_in(client, "admin@newsroom.test")
    assert response.status_code == 400
    assert client.get("/staff/").status_code == 302


def test_changing_the_goal_without_a_csrf_token_changes_nothing(csrf_app):
    client, token = _signed_in_with_csrf(csrf_app)
    response = client.post("/staff/settings/goal", data={"goal": "123"})
    assert response.status_code == 400
    with csrf_app.app_context():
        assert db.session.get(AppSetting, GOAL_SETTING) is None
    accepted = client.post("/staff/settings/goal", data={"goal": "123", "csrf_token": token})
    assert accepted.status_code == 302
    with csrf_app.app_context():
        assert goal_progress().goal == 123


def test_creating_a_list_without_a_csrf_token_changes_nothing(csrf_app):
    client, _ = _signed_in_with_csrf(csrf_app)
    response = client.post("/staff/lists/new", data={"slug": "sneaky", "name": "Sneaky"})
    assert response.status_code == 400
    with csrf_app.app_context():
        assert db.session.scalar(select(func.count(Newsletter.id))) == 0


def test_signing_out_without_a_csrf_token_keeps_the_session(csrf_app):
    client, _ = _signed_in_with_csrf(csrf_app)
    assert client.post("/staff/logout").status_code == 400
    assert client.get("/staff/").status_code == 200


def test_every_staff_form_carries_a_csrf_token(csrf_app):
    client, _ = _signed_in_with_csrf(csrf_app)
    with csrf_app.app_context():
        newsletter = make_newsletter("daily")
        list_id = newsletter.id
    pages = ["/staff/", "/staff/settings/goal", "/staff/lists/new", f"/staff/lists/{list_id}"]
    pages += [f"/staff/lists/{list_id}/edit", "/staff/accounts", "/staff/two-factor"]
    for path in pages:
        page = client.get(path).get_data(as_text=True)
        for form in re.findall(r'<form[^>]*method="post".*?</form>', page, flags=re.S):
            assert 'name="csrf_token"' in form, path


def test_editors_cannot_change_the_goal(editor_client):
    assert editor_client.get("/staff/settings/goal").status_code == 403
    response = editor_client.post("/staff/settings/goal", data={"goal": "5"})
    assert response.status_code == 403
    assert "Only administrators" in response.get_data(as_text=True)
    assert goal_progress().goal == 20000


def test_editors_cannot_export_personal_data(editor_client):
    newsletter = make_newsletter("daily")
    assert editor_client.get(f"/staff/lists/{newsletter.id}/export.csv").status_code == 403
    assert editor_client.get("/staff/members/export.csv").status_code == 403
    assert (
        db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action.like("export%")))
        == 0
    )


def test_editors_cannot_create_edit_or_archive_lists(editor_client):
    newsletter = make_newsletter("daily")
    assert (
        editor_client.post("/staff/lists/new", data={"slug": "x", "name": "X"}).status_code == 403
    )
    edit = editor_client.post(f"/staff/lists/{newsletter.id}/edit", data={"name": "Renamed"})
    assert edit.status_code == 403
    assert editor_client.post(f"/staff/lists/{newsletter.id}/archive").status_code == 403
    db.session.refresh(newsletter)
    assert newsletter.name == "Daily" and not newsletter.archived


def test_editors_cannot_read_the_audit_log(editor_client):
    assert editor_client.get("/staff/audit").status_code == 403


def test_editors_read_the_dashboard_lists_and_people(editor_client):
    newsletter = make_newsletter("daily")
    for path in ["/staff/", "/staff/lists", f"/staff/lists/{newsletter.id}", "/staff/people"]:
        assert editor_client.get(path).status_code == 200, path


def test_editors_see_no_admin_controls(editor_client):
    newsletter = make_newsletter("daily")
    page = editor_client.get(f"/staff/lists/{newsletter.id}").get_data(as_text=True)
    assert "export.csv" not in page and "/archive" not in page
    assert "Change the goal" not in editor_client.get("/staff/").get_data(as_text=True)


def test_editing_archiving_or_restoring_a_list_without_a_csrf_token_changes_nothing(csrf_app):
    client, _ = _signed_in_with_csrf(csrf_app)
    with csrf_app.app_context():
        live = make_newsletter("daily", name="The Daily")
        archived = make_newsletter("weekly", name="The Weekly", archived=True)
        live_id, archived_id = live.id, archived.id
    attempts = [
        (f"/staff/lists/{live_id}/edit", {"name": "Renamed", "description": "x"}),
        (f"/staff/lists/{live_id}/archive", {}),
        (f"/staff/lists/{archived_id}/restore", {}),
    ]
    for path, data in attempts:
        assert client.post(path, data=data).status_code == 400, path
    with csrf_app.app_context():
        live, archived = (
            db.session.get(Newsletter, live_id),
            db.session.get(Newsletter, archived_id),
        )
        assert (live.name, live.archived, archived.archived) == ("The Daily", False, True)
        assert (
            db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action.like("list%")))
            == 0
        )


def test_the_pages_for_signed_out_staff_carry_a_csrf_token_on_every_form(csrf_app):
    client = csrf_app.test_client()
    for path in ("/staff/login", "/staff/forgot-password"):
        page = client.get(path).get_data(as_text=True)
        forms = re.findall(r'<form[^>]*method="post".*?</form>', page, flags=re.S)
        assert forms and all('name="csrf_token"' in form for form in forms), path


def test_inviting_without_a_csrf_token_sends_nothing(csrf_app):
    client, _ = _signed_in_with_csrf(csrf_app)
    response = client.post("/staff/accounts/invite", data={"email": "x@newsroom.test"})
    assert response.status_code == 400
    with csrf_app.app_context():
        assert (
            db.session.scalar(
                select(func.count(AuditLog.id)).where(AuditLog.action == "staff_invited")
            )
            == 0
        )
