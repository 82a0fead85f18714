"""Wrong passwords pause an account's sign-in, but cannot lock its owner out: a browser the owner
signed in with before passes, and the owner is mailed a link that ends the pause."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from database import utcnow
from extensions import db
from staff.devices import DEVICE_COOKIE
from staff.lockout import pause_after
from staff.models import StaffUser
from tests.links import tampered
from tests.staff.account_helpers import account, actions, link_path, mail_to
from tests.staff.conftest import sign_in, signed_in
from tests.staff.factories import PASSWORD, make_staff

EDITOR = "editor@newsroom.test"


def fail(app, times: int = 5, email: str = EDITOR) -> None:
    stranger = app.test_client()
    for _ in range(times):
        assert sign_in(stranger, email, "a wrong guess, again").status_code == 422


def known_device(app):
    """The owner's own browser: signed in there once, then signed out."""
    browser = signed_in(app, EDITOR)
    browser.post("/staff/logout")
    assert browser.get_cookie(DEVICE_COOKIE, path="/staff") is not None
    return browser


def unlock_path(app) -> str:
    (message,) = mail_to(app, EDITOR, "staff_unlock")
    return link_path(message, "/staff/unlock/")


def test_after_five_wrong_passwords_even_the_right_one_waits_on_a_new_device(staff_app):
    fail(staff_app)
    assert sign_in(staff_app.test_client(), EDITOR).status_code == 422
    assert actions(staff_app)[-1] == "login_failed"


def test_four_wrong_passwords_do_not_pause_sign_in(staff_app):
    fail(staff_app, times=4)
    assert sign_in(staff_app.test_client(), EDITOR).status_code == 302


def test_the_owner_on_a_known_device_signs_in_during_the_pause(staff_app):
    browser = known_device(staff_app)
    fail(staff_app, times=8)
    assert sign_in(browser, EDITOR).status_code == 302
    assert browser.get("/staff/").status_code == 200
    assert account(staff_app, EDITOR).failed_logins == 0


def test_a_known_device_still_needs_the_right_password(staff_app):
    browser = known_device(staff_app)
    fail(staff_app)
    assert sign_in(browser, EDITOR, "not the password at all").status_code == 422


def test_another_accounts_device_does_not_pass(staff_app):
    admins_browser = signed_in(staff_app, "admin@newsroom.test")
    admins_browser.post("/staff/logout")
    fail(staff_app)
    assert sign_in(admins_browser, EDITOR).status_code == 422


def test_a_made_up_device_cookie_does_not_pass(staff_app):
    fail(staff_app)
    forger = staff_app.test_client()
    forger.set_cookie(DEVICE_COOKIE, "eyJhY2NvdW50IjoyfQ.forged.signature", path="/staff")
    assert sign_in(forger, EDITOR).status_code == 422


def test_a_pause_mails_the_owner_one_unlock_link(staff_app):
    fail(staff_app, times=9)
    (message,) = mail_to(staff_app, EDITOR, "staff_unlock")
    assert "5 times in a row" in message.text_body
    assert "account_paused" in actions(staff_app)


def test_the_unlock_link_ends_the_pause_and_trusts_that_browser(staff_app):
    fail(staff_app)
    path = unlock_path(staff_app)
    owner = staff_app.test_client()
    page = owner.get(path)
    assert page.status_code == 200 and "End the pause" in page.get_data(as_text=True)
    assert sign_in(staff_app.test_client(), EDITOR).status_code == 422  # a GET ends nothing
    assert owner.post(path).status_code == 302
    fail(staff_app)  # the stranger pauses it again at once
    assert sign_in(owner, EDITOR).status_code == 302
    assert "account_unlocked" in actions(staff_app)


def test_an_unlock_link_used_twice_says_the_pause_is_over(staff_app):
    fail(staff_app)
    path = unlock_path(staff_app)
    staff_app.test_client().post(path)
    again = staff_app.test_client().get(path)
    assert again.status_code == 410
    assert "Sign-in is not paused" in again.get_data(as_text=True)


def test_a_changed_unlock_link_answers_400(staff_app):
    fail(staff_app)
    path = unlock_path(staff_app)
    assert staff_app.test_client().post(tampered(path)).status_code == 400
    assert sign_in(staff_app.test_client(), EDITOR).status_code == 422


def test_the_pause_doubles_with_each_further_failure_up_to_an_hour():
    assert [pause_after(n) for n in (1, 4)] == [None, None]
    assert [pause_after(n) for n in (5, 6, 7)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
    ]
    assert pause_after(12) == pause_after(500) == timedelta(hours=1)


def _pause_ends(app) -> timedelta:
    return account(app, EDITOR).locked_until - utcnow()


def _end_the_pause_now(app) -> None:
    with app.app_context():
        user = db.session.scalars(select(StaffUser).where(StaffUser.email_key == EDITOR)).one()
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()


def test_a_wrong_password_after_a_pause_pauses_it_twice_as_long(staff_app):
    fail(staff_app)
    assert timedelta(seconds=50) < _pause_ends(staff_app) <= timedelta(minutes=1)
    _end_the_pause_now(staff_app)
    fail(staff_app, times=1)
    assert timedelta(seconds=110) < _pause_ends(staff_app) <= timedelta(minutes=2)


def test_attempts_during_a_pause_do_not_make_it_longer(staff_app):
    fail(staff_app)
    ends = account(staff_app, EDITOR).locked_until
    fail(staff_app, times=3)
    assert account(staff_app, EDITOR).locked_until == ends
    assert account(staff_app, EDITOR).failed_logins == 5


def test_after_the_pause_the_right_password_signs_in_anywhere(staff_app):
    fail(staff_app)
    _end_the_pause_now(staff_app)
    assert sign_in(staff_app.test_client(), EDITOR).status_code == 302


@pytest.fixture
def limited_app(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="2/minute")
    with app.app_context():
        make_staff(EDITOR)
    return app


def _post(client, ip: str, *, json=None, data=None):
    return client.post("/staff/login", json=json, data=data, environ_base={"REMOTE_ADDR": ip})


def test_a_json_login_body_counts_on_the_same_account_limit_as_the_form(limited_app):
    client = limited_app.test_client()
    wrong = "a wrong guess, again"
    assert (
        _post(client, "198.51.100.1", data={"email": EDITOR, "password": wrong}).status_code == 422
    )
    as_json = {"email": "  Editor@NEWSROOM.test ", "password": wrong}
    assert _post(client, "198.51.100.2", json=as_json).status_code == 422
    third = _post(client, "198.51.100.3", data={"email": EDITOR, "password": wrong})
    assert third.status_code == 429


def test_a_json_body_alone_is_limited_per_account_too(limited_app):
    client = limited_app.test_client()
    body = {"email": EDITOR, "password": "a wrong guess, again"}
    statuses = [_post(client, f"198.51.100.{n}", json=body).status_code for n in range(1, 4)]
    assert statuses == [422, 422, 429]


def test_a_stranger_cannot_use_up_the_owners_limit_on_a_known_device(limited_app):
    owner = limited_app.test_client()
    assert (
        _post(owner, "203.0.113.5", data={"email": EDITOR, "password": PASSWORD}).status_code == 302
    )
    owner.post("/staff/logout")
    stranger = limited_app.test_client()
    body = {"email": EDITOR, "password": "a wrong guess, again"}
    statuses = [_post(stranger, f"198.51.100.{n}", data=body).status_code for n in range(1, 4)]
    assert statuses[-1] == 429  # the account's budget (the owner's first sign-in took one)
    back = _post(owner, "203.0.113.5", data={"email": EDITOR, "password": PASSWORD})
    assert back.status_code == 302
