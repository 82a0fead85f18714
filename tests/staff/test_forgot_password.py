"""A forgotten password: the login page links to a form that answers the same, and does the same
work, whether or not the address has an account; the mailed link sets a new password once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from database import utcnow
from extensions import db
from mailer.models import OutboxMessage
from staff.invitations import password_reset_token
from staff.models import AuditLog
from tests.links import tampered
from tests.staff.account_helpers import account, actions, link_path, mail_to
from tests.staff.conftest import sign_in, signed_in

EDITOR = "editor@newsroom.test"
NEW_PASSWORD = "meadow kettle saffron lighthouse"


def ask(client, email: str):
    return client.post("/staff/forgot-password", data={"email": email})


def reset_path(app, email: str = EDITOR) -> str:
    (message,) = mail_to(app, email, "staff_password_reset")
    return link_path(message, "/staff/reset-password/")


def choose(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(path, data={"password": password, "confirm": confirm or password})


def rows(app) -> tuple[int, int]:
    with app.app_context():
        mails = db.session.scalar(select(func.count(OutboxMessage.id)))
        audit = db.session.scalar(select(func.count(AuditLog.id)))
        return mails, audit


def test_the_login_page_links_to_forgot_password(client):
    page = client.get("/staff/login").get_data(as_text=True)
    assert 'href="/staff/forgot-password"' in page
    assert client.get("/staff/forgot-password").status_code == 200


def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(staff_app):
    known = ask(staff_app.test_client(), EDITOR)
    unknown = ask(staff_app.test_client(), "nobody@newsroom.test")
    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert "We have sent a message to that address" in known.get_data(as_text=True)


def test_known_and_unknown_addresses_cost_the_same_work(staff_app):
    before = rows(staff_app)
    ask(staff_app.test_client(), EDITOR)
    after_known = rows(staff_app)
    ask(staff_app.test_client(), "nobody@newsroom.test")
    after_unknown = rows(staff_app)
    known_work = tuple(b - a for a, b in zip(before, after_known, strict=True))
    unknown_work = tuple(b - a for a, b in zip(after_known, after_unknown, strict=True))
    assert known_work == unknown_work == (1, 1)  # one mail queued, one audit row
    assert [m.kind for m in mail_to(staff_app, "nobody@newsroom.test")] == ["staff_no_account"]
    assert actions(staff_app)[-2:] == ["password_reset_requested"] * 2


def test_a_deactivated_account_gets_no_reset_link(staff_app):
    admin = signed_in(staff_app, "admin@newsroom.test")
    admin.post(f"/staff/accounts/{account(staff_app, EDITOR).id}/deactivate")
    ask(staff_app.test_client(), EDITOR)
    assert [m.kind for m in mail_to(staff_app, EDITOR)] == ["staff_no_account"]


def test_the_mailed_link_sets_a_new_password_once(staff_app):
    ask(staff_app.test_client(), " Editor@Newsroom.TEST ")
    path = reset_path(staff_app)
    browser = staff_app.test_client()
    assert browser.get(path).status_code == 200
    assert choose(browser, path).status_code == 302
    assert sign_in(staff_app.test_client(), EDITOR).status_code == 422  # the old password
    assert sign_in(staff_app.test_client(), EDITOR, NEW_PASSWORD).status_code == 302
    again = staff_app.test_client().get(path)
    assert again.status_code == 410
    assert "This link was used already" in again.get_data(as_text=True)
    assert "password_reset" in actions(staff_app, account(staff_app, EDITOR).id)


def test_a_new_password_ends_the_accounts_other_sessions(staff_app):
    elsewhere = signed_in(staff_app, EDITOR)
    ask(staff_app.test_client(), EDITOR)
    choose(staff_app.test_client(), reset_path(staff_app))
    assert elsewhere.get("/staff/").status_code == 302


def test_a_reset_link_older_than_an_hour_answers_410(staff_app):
    user = account(staff_app, EDITOR)
    with staff_app.app_context():
        token = password_reset_token(
            user.id, user.password_hash, now=utcnow() - timedelta(minutes=61)
        )
    response = staff_app.test_client().get(f"/staff/reset-password/{token}")
    assert response.status_code == 410
    assert "This link has expired" in response.get_data(as_text=True)


def test_a_changed_reset_link_answers_400(staff_app):
    ask(staff_app.test_client(), EDITOR)
    path = reset_path(staff_app)
    response = staff_app.test_client().post(tampered(path), data={"password": NEW_PASSWORD})
    assert response.status_code == 400
    assert sign_in(staff_app.test_client(), EDITOR, NEW_PASSWORD).status_code == 422


def test_a_common_password_is_refused_by_the_field(staff_app):
    ask(staff_app.test_client(), EDITOR)
    refused = choose(staff_app.test_client(), reset_path(staff_app), "password1234")
    assert refused.status_code == 422
    assert 'id="password-error"' in refused.get_data(as_text=True)


def test_an_address_that_is_no_address_is_refused_by_the_field(staff_app):
    response = ask(staff_app.test_client(), "not an address")
    assert response.status_code == 422
    assert 'id="email-error"' in response.get_data(as_text=True)
    assert rows(staff_app)[0] == 0
