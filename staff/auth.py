"""Staff accounts: creating them, checking passwords, and the audit log of what staff did."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select

from addresses import email_key
from database import utcnow
from extensions import db
from staff.models import ROLES, AuditLog, StaffUser

MIN_PASSWORD_LENGTH = 12
AUDIT_PAGE_SIZE = 100

# argon2-cffi's defaults are Argon2id with the RFC 9106 low-memory profile.
_hasher = PasswordHasher()


class StaffAccountError(ValueError):
    """A staff account cannot be created as asked; the message is for the operator."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("a password nobody has: only here to spend the same time")


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalise_staff_email(email: str) -> str:
    try:
        return validate_email(
            email.strip(),
            check_deliverability=False,
            test_environment=bool(current_app.config.get("TESTING")),
        ).normalized
    except EmailNotValidError as exc:
        raise StaffAccountError(f"{email!r} is not a valid email address: {exc}") from exc


def staff_user_by_id(staff_id: int) -> StaffUser | None:
    return db.session.get(StaffUser, staff_id)


def create_staff_user(email: str, password: str, role: str) -> StaffUser:
    """Adds an account to the session (the caller commits); refuses duplicates and weak input."""
    if role not in ROLES:
        raise StaffAccountError(f"Role must be one of: {', '.join(ROLES)}.")
    address = normalise_staff_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffAccountError(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
        )
    key = email_key(address)
    existing = db.session.execute(select(StaffUser.id).where(StaffUser.email_key == key))
    if existing.first() is not None:
        raise StaffAccountError(f"A staff account for {address} already exists.")
    user = StaffUser(email=address, email_key=key, password_hash=hash_password(password), role=role)
    db.session.add(user)
    return user


@dataclass(frozen=True)
class LoginAttempt:
    user: StaffUser | None
    # Why a refused attempt was refused, for the audit log only: people see one message.
    refusal: str | None = None
    login_entry_id: int | None = None  # the audit row of a successful sign-in

    @property
    def succeeded(self) -> bool:
        return self.user is not None and self.refusal is None


def authenticate(email: str, password: str) -> LoginAttempt:
    """Checks a password; unknown addresses cost the same hashing time as known ones."""
    key = email_key(email)
    user = db.session.execute(
        select(StaffUser).where(StaffUser.email_key == key)
    ).scalar_one_or_none()
    if user is None:
        _password_matches(_dummy_hash(), password)
        return LoginAttempt(user=None, refusal="unknown account")
    if not _password_matches(user.password_hash, password):
        return LoginAttempt(user=user, refusal="wrong password")
    if not user.active:
        return LoginAttempt(user=user, refusal="inactive account")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return LoginAttempt(user=user)


def typed_address(typed: str | None) -> str:
    """What was typed as the email, for the audit log; never a mistyped password."""
    typed = (typed or "").strip()
    return typed[:320] if "@" in typed and " " not in typed else "(not an email address)"


def attempt_login(email: str, password: str, ip: str | None) -> LoginAttempt:
    """Check the password and write the audit row either way (the caller commits)."""
    attempt = authenticate(email, password)
    if attempt.succeeded:
        entry = record_action("login", attempt.user.email, staff_id=attempt.user.id, ip=ip)
        db.session.flush()
        return replace(attempt, login_entry_id=entry.id)
    staff_id = attempt.user.id if attempt.user else None
    record_action("login_failed", f"{typed_address(email)}: {attempt.refusal}", staff_id, ip)
    return attempt


def signed_out_since(staff_id: int, login_entry_id: int | None) -> bool:
    """Whether the account signed out after the sign-in that the audit row `login_entry_id`
    records: signing out ends every session begun before it, on any device.

    The session cookie lives in the browser, so only state kept here can end a copy of it.
    """
    if login_entry_id is None:
        return True
    later_logout = select(AuditLog.id).where(
        AuditLog.staff_id == staff_id, AuditLog.action == "logout", AuditLog.id > login_entry_id
    )
    return db.session.execute(later_logout.limit(1)).first() is not None


def record_action(
    action: str, detail: str = "", staff_id: int | None = None, ip: str | None = None
) -> AuditLog:
    """Adds an audit row to the session, committed with the change it describes."""
    row = AuditLog(staff_id=staff_id, action=action, detail=detail, ip=ip)
    db.session.add(row)
    return row


@dataclass(frozen=True)
class AuditPage:
    rows: list  # (AuditLog, staff email or None), newest first
    next_before: int | None  # the id to continue before, None on the last page


def audit_page(before: int | None = None, size: int = AUDIT_PAGE_SIZE) -> AuditPage:
    query = (
        select(AuditLog, StaffUser.email)
        .outerjoin(StaffUser, AuditLog.staff_id == StaffUser.id)
        .order_by(AuditLog.id.desc())
        .limit(size + 1)
    )
    if before is not None:
        query = query.where(AuditLog.id < before)
    rows = db.session.execute(query).all()
    shown = rows[:size]
    return AuditPage(shown, shown[-1][0].id if len(rows) > size and shown else None)
