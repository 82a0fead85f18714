"""Two-factor sign-in for staff accounts: the code step of signing in, enrolling an authenticator
app (the QR code drawn on the server), recovery codes, and turning it off.

The rules of codes are staff/two_factor.py; this module keeps them on the account. A code is
accepted once: the time-step it belongs to is stored under a lock on the account, so the same
code sent twice at once still signs in once.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select, text

from database import is_postgresql, utcnow
from extensions import db
from staff import lockout, totp_secrets, two_factor
from staff.audit_trail import record_action
from staff.auth import LoginAttempt, finish_login
from staff.models import StaffUser

# How long the code step may follow a correct password.
PENDING_SECONDS = 300


def two_factor_required(user: StaffUser) -> bool:
    """Administrators must use it when STAFF_REQUIRE_2FA is on."""
    return bool(current_app.config.get("STAFF_REQUIRE_2FA")) and user.is_admin


def _locked_account(account_id: int) -> StaffUser | None:
    """The account, read again under a lock that lasts until the caller commits."""
    if not is_postgresql():
        # SQLite reads outside a transaction until the first write: take its one write lock now.
        db.session.execute(text("UPDATE staff_users SET id = id WHERE 1 = 0"))
    query = select(StaffUser).where(StaffUser.id == account_id).with_for_update()
    return db.session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()


def _spend_code(user: StaffUser, code: str) -> str | None:
    """Accept an authenticator code or a recovery code once; which one it was, or None."""
    if user.totp_secret is None:
        return None
    secret = totp_secrets.unseal(user.totp_secret, user.id)
    step = None if secret is None else two_factor.verify_code(secret, code, user.totp_last_step)
    if step is not None:
        user.totp_last_step = step
        if not totp_secrets.is_sealed(user.totp_secret):  # kept in the clear by an older release
            user.totp_secret = totp_secrets.seal(secret, user.id)
        return "authenticator code"
    remaining = two_factor.redeem_recovery_code(code, user.recovery_code_hashes or [])
    if remaining is not None:
        user.recovery_code_hashes = remaining
        return "recovery code"
    return None


def complete_sign_in(account_id: int, code: object, ip: str | None) -> LoginAttempt:
    """The code step after a correct password; a wrong code counts toward the back-off."""
    user = _locked_account(account_id)
    if user is None or not user.active or not user.two_factor_enabled:
        return LoginAttempt(user=None, refusal="no sign-in waiting for a code")
    used = _spend_code(user, code if isinstance(code, str) else "")
    if used is None:
        lockout.record_failure(user, ip)
        record_action("login_failed", f"{user.email}: wrong two-factor code", user.id, ip)
        return LoginAttempt(user=user, refusal="wrong two-factor code")
    if used == "recovery code":
        left = len(user.recovery_code_hashes)
        record_action("recovery_code_used", f"{user.email}: {left} left", user.id, ip)
    return finish_login(user, ip, f" ({used})")


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr_code: Markup


def enrolment(user: StaffUser, secret: str | None) -> Enrolment:
    """What the set-up page shows: the secret (new unless one is being set up), its QR code."""
    secret = secret or two_factor.new_secret()
    uri = two_factor.provisioning_uri(secret, user.email)
    return Enrolment(secret, uri, two_factor.qr_code_svg(uri))


def enable(user: StaffUser, secret: str, code: object, ip: str | None) -> list[str] | None:
    """Turn it on once a code from the app proves the secret was saved; the recovery codes to
    show once, or None for a wrong code."""
    step = two_factor.verify_code(secret, code if isinstance(code, str) else "", None)
    if step is None:
        return None
    recovery = two_factor.new_recovery_codes()
    user.totp_secret = totp_secrets.seal(secret, user.id)
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    user.recovery_code_hashes = recovery.hashes
    record_action("two_factor_enabled", user.email, user.id, ip)
    return recovery.codes


def new_recovery_codes(user: StaffUser, code: object, ip: str | None) -> list[str] | None:
    """Replace the recovery codes (a current code proves it is the owner); None when wrong."""
    locked = _locked_account(user.id)
    if locked is None or _spend_code(locked, code if isinstance(code, str) else "") is None:
        return None
    recovery = two_factor.new_recovery_codes()
    locked.recovery_code_hashes = recovery.hashes
    record_action("recovery_codes_replaced", locked.email, locked.id, ip)
    return recovery.codes


def disable(user: StaffUser, code: object, ip: str | None) -> bool:
    """Turn it off (a current code proves it is the owner); False when the code is wrong."""
    locked = _locked_account(user.id)
    if locked is None or _spend_code(locked, code if isinstance(code, str) else "") is None:
        return False
    locked.totp_secret = None
    locked.totp_enabled_at = None
    locked.totp_last_step = None
    locked.recovery_code_hashes = []
    record_action("two_factor_disabled", locked.email, locked.id, ip)
    return True
