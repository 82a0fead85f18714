"""Two-factor sign-in as staff meet it: set up by scanning the page's QR code, a code after the
password, a code accepted once, recovery codes, and required for admins by STAFF_REQUIRE_2FA."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from tests.staff.account_helpers import (
    account,
    actions,
    code,
    secret_from_setup_page,
    turn_on_two_factor,
)
from tests.staff.conftest import sign_in, signed_in
from tests.staff.factories import make_staff

EDITOR, ADMIN = "editor@newsroom.test", "admin@newsroom.test"


def send_code(client, typed: str):
    return client.post("/staff/login/code", data={"code": typed})


@pytest.fixture
def with_two_factor(staff_app):
    """The editor's account with two-factor sign-in on: (secret, recovery codes)."""
    return turn_on_two_factor(signed_in(staff_app, EDITOR))


def test_the_set_up_page_draws_the_qr_code_itself(staff_app):
    response = signed_in(staff_app, EDITOR).get("/staff/two-factor")
    page = response.get_data(as_text=True)
    assert re.search(r'<svg role="img"[^>]*>\s*<title>', page)
    assert "<img" not in page and "<script" not in page
    secret = secret_from_setup_page(page)
    assert secret in page  # also written out, for typing in by hand
    assert "img-src 'self' data:" in response.headers["Content-Security-Policy"]


def test_a_wrong_code_does_not_turn_it_on(staff_app):
    browser = signed_in(staff_app, EDITOR)
    browser.get("/staff/two-factor")
    refused = browser.post("/staff/two-factor/enable", data={"code": "000000"})
    assert refused.status_code == 422
    assert not account(staff_app, EDITOR).two_factor_enabled


def test_signing_in_asks_for_a_code_after_the_password(staff_app, with_two_factor):
    secret, _ = with_two_factor
    browser = staff_app.test_client()
    response = sign_in(browser, EDITOR)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login/code"
    assert browser.get("/staff/").status_code == 302  # not signed in before the code
    assert send_code(browser, code(secret, steps_ahead=1)).status_code == 302
    assert browser.get("/staff/").status_code == 200
    assert actions(staff_app)[-1] == "login"


def test_a_code_is_accepted_once_a_replay_is_refused(staff_app, with_two_factor):
    secret, _ = with_two_factor
    seen = code(secret, steps_ahead=1)
    first = staff_app.test_client()
    sign_in(first, EDITOR)
    assert send_code(first, seen).status_code == 302
    replay = staff_app.test_client()
    sign_in(replay, EDITOR)
    refused = send_code(replay, seen)
    assert refused.status_code == 422
    assert "used already" in refused.get_data(as_text=True)
    assert replay.get("/staff/").status_code == 302


def test_the_code_set_up_with_cannot_sign_in_again(staff_app, with_two_factor):
    secret, _ = with_two_factor
    # The very code typed at set-up (the clock may have moved on to the next one since).
    set_up_with = pyotp.TOTP(secret).generate_otp(account(staff_app, EDITOR).totp_last_step)
    browser = staff_app.test_client()
    sign_in(browser, EDITOR)
    assert send_code(browser, set_up_with).status_code == 422


def test_a_recovery_code_signs_in_once(staff_app, with_two_factor):
    _, recovery_codes = with_two_factor
    browser = staff_app.test_client()
    sign_in(browser, EDITOR)
    assert send_code(browser, recovery_codes[0].lower().replace("-", "")).status_code == 302
    again = staff_app.test_client()
    sign_in(again, EDITOR)
    assert send_code(again, recovery_codes[0]).status_code == 422
    assert send_code(again, recovery_codes[1]).status_code == 302
    assert len(account(staff_app, EDITOR).recovery_code_hashes) == 8


def test_the_code_step_lasts_five_minutes(staff_app, with_two_factor):
    secret, _ = with_two_factor
    browser = staff_app.test_client()
    sign_in(browser, EDITOR)
    with browser.session_transaction() as session:
        session["staff_pending"] = {**session["staff_pending"], "at": int(time.time()) - 301}
    response = send_code(browser, code(secret, steps_ahead=1))
    assert response.headers["Location"] == "/staff/login"
    assert browser.get("/staff/").status_code == 302


def test_turning_it_off_needs_a_current_code(staff_app):
    browser = signed_in(staff_app, EDITOR)
    secret, _ = turn_on_two_factor(browser)
    assert browser.post("/staff/two-factor/disable", data={"code": "123456"}).status_code == 422
    assert account(staff_app, EDITOR).two_factor_enabled
    off = browser.post("/staff/two-factor/disable", data={"code": code(secret, steps_ahead=1)})
    assert off.status_code == 302
    assert not account(staff_app, EDITOR).two_factor_enabled
    assert sign_in(staff_app.test_client(), EDITOR).headers["Location"] == "/staff/"


def test_new_recovery_codes_replace_the_old_ones(staff_app):
    browser = signed_in(staff_app, EDITOR)
    secret, old_codes = turn_on_two_factor(browser)
    shown = browser.post("/staff/two-factor/recovery-codes", data={"code": code(secret, 1)})
    new_codes = re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", shown.get_data(as_text=True))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    again = staff_app.test_client()
    sign_in(again, EDITOR)
    assert send_code(again, old_codes[0]).status_code == 422


def test_turning_it_on_and_off_is_in_the_audit_log(staff_app):
    browser = signed_in(staff_app, EDITOR)
    secret, _ = turn_on_two_factor(browser)
    browser.post("/staff/two-factor/disable", data={"code": code(secret, steps_ahead=1)})
    assert actions(staff_app)[-2:] == ["two_factor_enabled", "two_factor_disabled"]


@pytest.fixture
def strict_app(make_app):
    app = make_app(STAFF_REQUIRE_2FA=True)
    with app.app_context():
        make_staff(ADMIN, role="admin")
        make_staff(EDITOR)
    return app


def test_when_required_an_admin_must_set_it_up_before_any_other_page(strict_app):
    admin = signed_in(strict_app, ADMIN)
    for path in ("/staff/", "/staff/accounts", "/staff/lists"):
        response = admin.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/staff/two-factor"
    turn_on_two_factor(admin)
    assert admin.get("/staff/accounts").status_code == 200


def test_when_required_editors_are_not_forced(strict_app):
    assert signed_in(strict_app, EDITOR).get("/staff/").status_code == 200


def test_when_required_an_admin_cannot_turn_it_off(strict_app):
    admin = signed_in(strict_app, ADMIN)
    secret, _ = turn_on_two_factor(admin)
    admin.post("/staff/two-factor/disable", data={"code": code(secret, steps_ahead=1)})
    assert account(strict_app, ADMIN).two_factor_enabled


def test_an_admin_turns_off_a_colleagues_two_factor_when_they_lost_it(staff_app):
    turn_on_two_factor(signed_in(staff_app, EDITOR))
    admin = signed_in(staff_app, ADMIN)
    editor_id = account(staff_app, EDITOR).id
    assert admin.post(f"/staff/accounts/{editor_id}/two-factor/off").status_code == 302
    assert not account(staff_app, EDITOR).two_factor_enabled
    assert "two_factor_turned_off" in actions(staff_app)
