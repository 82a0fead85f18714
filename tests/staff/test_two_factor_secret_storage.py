"""The authenticator secret at rest: a copy of the database does not hand out staff codes."""

from __future__ import annotations

import logging

from sqlalchemy import update

from extensions import db
from staff.models import StaffUser
from tests.staff.account_helpers import account, code, turn_on_two_factor
from tests.staff.conftest import sign_in, signed_in

EDITOR, ADMIN = "editor@newsroom.test", "admin@newsroom.test"


def send_code(client, typed: str):
    return client.post("/staff/login/code", data={"code": typed})


def store(app, email: str, **values) -> None:
    with app.app_context():
        db.session.execute(update(StaffUser).where(StaffUser.email_key == email).values(**values))
        db.session.commit()


def test_the_database_keeps_the_secret_sealed_and_the_code_still_signs_in(staff_app):
    secret, _ = turn_on_two_factor(signed_in(staff_app, EDITOR))

    stored = account(staff_app, EDITOR).totp_secret

    assert secret.upper() not in stored.upper()
    assert len(stored) <= 64  # the column as migration 0006 made it
    browser = staff_app.test_client()
    sign_in(browser, EDITOR)
    assert send_code(browser, code(secret, steps_ahead=1)).status_code == 302


def test_a_sealed_secret_copied_onto_another_account_does_not_sign_that_account_in(staff_app):
    secret, _ = turn_on_two_factor(signed_in(staff_app, EDITOR))
    editor = account(staff_app, EDITOR)
    store(staff_app, ADMIN, totp_secret=editor.totp_secret, totp_enabled_at=editor.totp_enabled_at)

    browser = staff_app.test_client()
    sign_in(browser, ADMIN)

    assert send_code(browser, code(secret, steps_ahead=1)).status_code == 422
    assert browser.get("/staff/").status_code == 302


def test_after_the_secret_key_changes_a_recovery_code_still_signs_in(staff_app, caplog):
    secret, recovery_codes = turn_on_two_factor(signed_in(staff_app, EDITOR))
    staff_app.config["SECRET_KEY"] = "the-key-after-a-rotation"
    browser = staff_app.test_client()
    sign_in(browser, EDITOR)

    with caplog.at_level(logging.WARNING, logger="staff.totp_secrets"):
        assert send_code(browser, code(secret, steps_ahead=1)).status_code == 422

    assert "cannot be opened with this SECRET_KEY" in caplog.text
    assert send_code(browser, recovery_codes[0]).status_code == 302
    assert browser.get("/staff/").status_code == 200


def test_a_secret_an_older_release_kept_in_the_clear_signs_in_and_is_then_sealed(staff_app):
    secret, _ = turn_on_two_factor(signed_in(staff_app, EDITOR))
    store(staff_app, EDITOR, totp_secret=secret)

    browser = staff_app.test_client()
    sign_in(browser, EDITOR)

    assert send_code(browser, code(secret, steps_ahead=1)).status_code == 302
    stored = account(staff_app, EDITOR).totp_secret
    assert secret.upper() not in stored.upper()
