"""Staff accounts: the create command, signing in and out, sessions that end."""

from __future__ import annotations

import time

from argon2 import PasswordHasher
from sqlalchemy import select

from extensions import db
from staff.models import AuditLog, StaffUser
from tests.staff.conftest import sign_in
from tests.staff.factories import PASSWORD, make_staff


def test_staff_create_reads_the_password_from_stdin_and_stores_an_argon2id_hash(runner, app_ctx):
    result = runner.invoke(
        args=["staff", "create", "Chief@Newsroom.test", "--role", "admin", "--password-stdin"],
        input="a long enough secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin account" in result.output
    user = db.session.scalars(select(StaffUser)).one()
    assert user.email_key == "chief@newsroom.test"
    assert user.role == "admin"
    assert user.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(user.password_hash, "a long enough secret")


def test_staff_create_refuses_a_duplicate_address_and_exits_1(runner, app_ctx):
    make_staff("editor@newsroom.test")
    result = runner.invoke(
        args=["staff", "create", "EDITOR@newsroom.test", "--password-stdin"],
        input="another long secret\n",
    )
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert db.session.scalar(select(db.func.count(StaffUser.id))) == 1


def test_staff_create_refuses_a_short_password(runner, app_ctx):
    result = runner.invoke(
        args=["staff", "create", "new@newsroom.test", "--password-stdin"], input="short\n"
    )
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output


def test_staff_create_prompts_twice_for_the_password_without_stdin(runner, app_ctx):
    result = runner.invoke(
        args=["staff", "create", "prompted@newsroom.test"],
        input="typed twice secret\ntyped twice secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password:" in result.output and "Repeat for confirmation:" in result.output
    assert "typed twice secret" not in result.output  # hidden input is not echoed
    user = db.session.scalars(select(StaffUser)).one()
    assert user.role == "editor"


def test_the_dashboard_without_a_session_redirects_to_the_login_page(client):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")
    assert "%2Fstaff%2F" in response.headers["Location"]


def test_staff_without_a_slash_leads_to_the_dashboard(client):
    assert client.get("/staff").headers["Location"].endswith("/staff/")


def test_the_login_page_has_a_labelled_form(client):
    page = client.get("/staff/login").get_data(as_text=True)
    assert 'name="email"' in page and 'name="password"' in page
    assert '<label for="email">' in page and '<label for="password">' in page


def test_signing_in_opens_the_dashboard_and_goes_back_to_next(client, editor):
    response = sign_in(client, editor.email, next="/staff/lists")
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/lists"
    assert client.get("/staff/").status_code == 200


def test_next_pointing_to_another_site_is_ignored(client, editor):
    response = sign_in(client, editor.email, next="https://evil.example/staff/")
    assert response.headers["Location"] == "/staff/"


def test_a_wrong_password_is_refused_with_a_message(client, editor):
    response = sign_in(client, editor.email, password="not the password")
    assert response.status_code == 422
    assert "email or password is not right" in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


def test_an_unknown_account_gets_the_same_message(client, app_ctx):
    response = sign_in(client, "nobody@newsroom.test")
    assert response.status_code == 422
    assert "email or password is not right" in response.get_data(as_text=True)


def test_an_inactive_account_cannot_sign_in_even_with_the_right_password(client, app_ctx):
    user = make_staff("gone@newsroom.test", active=False)
    response = sign_in(client, user.email)
    assert response.status_code == 422
    assert client.get("/staff/").status_code == 302


def test_an_account_deactivated_during_a_session_is_signed_out(editor_client, editor):
    editor.active = False
    db.session.commit()
    assert editor_client.get("/staff/").status_code == 302


def test_the_address_is_matched_case_insensitively(client, editor):
    assert sign_in(client, "  EDITOR@Newsroom.TEST ").status_code == 302


def test_signing_in_records_the_time(client, editor):
    sign_in(client, editor.email)
    db.session.expire_all()
    assert db.session.get(StaffUser, editor.id).last_login_at is not None


def _short_session(make_app):
    """A client of an app whose staff sessions last 600 s, and its sign-in's answer."""
    app = make_app(PERMANENT_SESSION_LIFETIME=600)
    client = app.test_client()
    with app.app_context():
        make_staff("short@newsroom.test")
    return client, sign_in(client, "short@newsroom.test")


def test_the_session_cookie_expires_after_the_configured_lifetime(make_app):
    _, response = _short_session(make_app)
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie and "HttpOnly" in cookie
    assert "remember_token" not in " ".join(response.headers.getlist("Set-Cookie"))


def test_an_unchanged_session_is_not_sent_again(make_app):
    # The lifetime counts from the sign-in whatever the cookie says (below), so re-sending an
    # unchanged cookie would slide nothing; it would only let a request answered late (the
    # live preview, tests/staff/test_campaign_pages.py) put back an older session.
    client, _ = _short_session(make_app)
    client.get("/staff/")  # the first page may add to the session (its forms' CSRF token)

    page = client.get("/staff/")

    assert page.status_code == 200
    assert "session=" not in " ".join(page.headers.getlist("Set-Cookie"))


def test_a_session_older_than_its_lifetime_must_sign_in_again(make_app):
    client, _ = _short_session(make_app)
    assert client.get("/staff/").status_code == 200
    with client.session_transaction() as session:
        session["staff_signed_in_at"] = int(time.time()) - 601
    response = client.get("/staff/")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]
    assert client.get("/staff/").status_code == 302


def test_signing_out_ends_the_session_and_is_logged(editor_client, editor):
    response = editor_client.post("/staff/logout")
    assert response.status_code == 302
    assert editor_client.get("/staff/").status_code == 302
    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["login", "logout"]


def test_signing_out_needs_a_post(editor_client):
    assert editor_client.get("/staff/logout").status_code == 405


def test_staff_pages_are_not_cached(editor_client):
    assert editor_client.get("/staff/").headers["Cache-Control"] == "no-store"


def test_the_password_is_never_echoed_back_in_the_form(client, editor):
    page = sign_in(client, editor.email, password="wrong but secret").get_data(as_text=True)
    assert "wrong but secret" not in page
    assert PASSWORD not in page


def test_the_login_page_sends_a_signed_in_member_on_to_the_dashboard(editor_client):
    response = editor_client.get("/staff/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"


def test_a_page_asked_for_without_a_session_opens_after_signing_in(client, editor):
    login_page = client.get("/staff/lists", follow_redirects=True).get_data(as_text=True)
    assert 'name="next" value="/staff/lists"' in login_page
    assert sign_in(client, editor.email, next="/staff/lists").headers["Location"] == "/staff/lists"


def _signed_in_copy(app, email: str):
    """Two clients holding the same session cookie: the browser, and a copy of its cookie."""
    browser = app.test_client()
    assert sign_in(browser, email).status_code == 302
    copy = app.test_client()
    copy.set_cookie("session", browser.get_cookie("session").value)
    return browser, copy


def test_a_session_cookie_stops_working_once_its_owner_signs_out(make_app):
    app = make_app()
    with app.app_context():
        make_staff("editor@newsroom.test")
    browser, copy = _signed_in_copy(app, "editor@newsroom.test")
    assert copy.get("/staff/").status_code == 200
    browser.post("/staff/logout")
    assert copy.get("/staff/").status_code == 302


def test_signing_in_on_a_second_device_keeps_the_first_signed_in(make_app):
    app = make_app()
    with app.app_context():
        make_staff("editor@newsroom.test")
    laptop = app.test_client()
    assert sign_in(laptop, "editor@newsroom.test").status_code == 302
    phone = app.test_client()
    assert sign_in(phone, "editor@newsroom.test").status_code == 302
    assert laptop.get("/staff/").status_code == 200
    assert phone.get("/staff/").status_code == 200


def test_a_next_link_with_a_line_break_lands_on_the_dashboard_not_an_error(admin_client):
    response = admin_client.get("/staff/login?next=/staff/%0D%0AX-Evil:%201")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/")
    assert "X-Evil" not in response.headers


def test_staff_create_refuses_a_common_password(runner, app_ctx):
    result = runner.invoke(
        args=["staff", "create", "new@newsroom.test", "--password-stdin"], input="password1234\n"
    )
    assert result.exit_code == 1
    assert "common passwords" in result.output
    assert db.session.scalar(select(db.func.count(StaffUser.id))) == 0


def test_passwords_are_hashed_with_the_strong_profile_outside_the_test_suite(make_app):
    from staff.auth import hash_password

    for settings in ({"STAFF_FAST_PASSWORD_HASHING": False}, {"TESTING": False}):
        with make_app(**settings).app_context():
            assert hash_password("a long enough secret").startswith(
                "$argon2id$v=19$m=65536,t=3,p=4$"
            )
