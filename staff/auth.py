"""Staff accounts: creating them, checking passwords at sign-in, and the sign-in back-off.

A sign-in is: the password (authenticate), then, for an account with two-factor sign-in, a code
(staff/second_factor.py); only then does finish_login() record it.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select

from addresses import email_key, rate_limit_key
from database import utcnow
from extensions import db
from staff import lockout
from staff.audit_trail import record_action
from staff.devices import device_knows
from staff.models import ROLES, AuditLog, StaffUser
from staff.passwords import password_problem

T = TypeVar("T")

# argon2-cffi's defaults are Argon2id with the RFC 9106 low-memory profile.
_STRONG = PasswordHasher()
# The test suite hashes and checks hundreds of passwords: a cheap profile there, and only there
# (TESTING with STAFF_FAST_PASSWORD_HASHING), as Django's test settings swap in a fast hasher.
_FAST_FOR_TESTS = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _hasher() -> PasswordHasher:
    config = current_app.config
    if config.get("TESTING") and config.get("STAFF_FAST_PASSWORD_HASHING"):
        return _FAST_FOR_TESTS
    return _STRONG


class StaffAccountError(ValueError):
    """A staff account cannot be created as asked; the message is for the person or operator."""


def off_the_event_loop(work: Callable[..., T], *args) -> T:
    """work(*args), which spends its time in C with the GIL released (Argon2: ~0.1 s a
    password). Beside threads that costs the others nothing; in a gevent worker (README
    "Production") it would hold up every request of the worker, so there it runs on one of
    gevent's real threads while the worker's other requests go on. Its error is raised here:
    raised on gevent's thread, gevent would also print it there (a wrong password's traceback
    on standard error at every failed sign-in)."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return work(*args)
    from gevent import get_hub

    result, error = get_hub().threadpool.apply(_result_or_error, (work, args))
    if error is not None:
        raise error
    return result


def _result_or_error(work: Callable[..., T], args: tuple) -> tuple[T | None, Exception | None]:
    try:
        return work(*args), None
    except Exception as error:  # noqa: BLE001 (handed back to be raised where it was asked)
        return None, error


def hash_password(password: str) -> str:
    return off_the_event_loop(_hasher().hash, password)


def _dummy_hash() -> str:
    return _dummy_hash_for(_hasher())


@functools.cache
def _dummy_hash_for(hasher: PasswordHasher) -> str:
    return off_the_event_loop(
        hasher.hash, "a password nobody has: only here to spend the same time"
    )


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return off_the_event_loop(_hasher().verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def account_key(typed: object) -> str:
    """How a typed address finds its account, whatever was sent: as email-validator normalises
    it, lower-cased ("  Ed@Example.COM " and "ed@example.com" are one account). Text that is no
    address is only stripped and lower-cased (it finds nothing, and keys its own limit)."""
    if not isinstance(typed, str):
        return ""
    return rate_limit_key(typed) or email_key(typed)[:320]


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


def staff_user_by_email(typed: object) -> StaffUser | None:
    key = account_key(typed)
    if not key:
        return None
    return db.session.execute(
        select(StaffUser).where(StaffUser.email_key == key)
    ).scalar_one_or_none()


def create_staff_user(email: str, password: str, role: str) -> StaffUser:
    """Adds an account to the session (the caller commits); refuses duplicates and weak input."""
    if role not in ROLES:
        raise StaffAccountError(f"Role must be one of: {', '.join(ROLES)}.")
    address = normalise_staff_email(email)
    problem = password_problem(password, address)
    if problem is not None:
        raise StaffAccountError(problem)
    key = email_key(address)
    existing = db.session.execute(select(StaffUser.id).where(StaffUser.email_key == key))
    if existing.first() is not None:
        raise StaffAccountError(f"A staff account for {address} already exists.")
    user = StaffUser(email=address, email_key=key, password_hash=hash_password(password), role=role)
    db.session.add(user)
    return user


def set_password(user: StaffUser, password: str) -> None:
    """A new password (already checked against the rule): every other session of the account
    ends, and a sign-in pause is over."""
    user.password_hash = hash_password(password)
    user.session_epoch = (user.session_epoch or 0) + 1
    lockout.clear(user)


@dataclass(frozen=True)
class LoginAttempt:
    user: StaffUser | None
    # Why a refused attempt was refused, for the audit log only: people see one message.
    refusal: str | None = None
    login_entry_id: int | None = None  # the audit row of a completed sign-in
    needs_code: bool = False  # the password was right; a two-factor code must follow

    @property
    def succeeded(self) -> bool:
        return self.user is not None and self.refusal is None and not self.needs_code


def authenticate(email: object, password: object, device: dict | None = None) -> LoginAttempt:
    """Checks a password; unknown and paused accounts cost the same hashing time as the rest.

    A paused account (staff/lockout.py) is refused without its password being tried, unless the
    attempt comes from a device the account signed in on before.
    """
    password = password if isinstance(password, str) else ""
    user = staff_user_by_email(email)
    if user is None:
        _password_matches(_dummy_hash(), password)
        return LoginAttempt(user=None, refusal="unknown account")
    if lockout.is_paused(user) and not device_knows(device, user.id):
        _password_matches(_dummy_hash(), password)
        return LoginAttempt(user=user, refusal="paused after wrong passwords")
    if not _password_matches(user.password_hash, password):
        return LoginAttempt(user=user, refusal="wrong password")
    if not user.active:
        return LoginAttempt(user=user, refusal="inactive account")
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return LoginAttempt(user=user, needs_code=user.two_factor_enabled)


def typed_address(typed: object) -> str:
    """What was typed as the email, for the audit log; never a mistyped password."""
    typed = typed.strip() if isinstance(typed, str) else ""
    return typed[:320] if "@" in typed and " " not in typed else "(not an email address)"


def attempt_login(
    email: object, password: object, ip: str | None, device: dict | None = None
) -> LoginAttempt:
    """Check the password and write the audit row either way (the caller commits)."""
    attempt = authenticate(email, password, device)
    if attempt.succeeded:
        return finish_login(attempt.user, ip)
    if attempt.needs_code:
        return attempt
    if attempt.refusal == "wrong password":
        lockout.record_failure(attempt.user, ip)
    staff_id = attempt.user.id if attempt.user else None
    record_action("login_failed", f"{typed_address(email)}: {attempt.refusal}", staff_id, ip)
    return attempt


def finish_login(user: StaffUser, ip: str | None, how: str = "") -> LoginAttempt:
    """Record a completed sign-in (the caller starts the session and commits)."""
    lockout.clear(user)
    user.last_login_at = utcnow()
    entry = record_action("login", user.email + how, staff_id=user.id, ip=ip)
    db.session.flush()
    return replace(LoginAttempt(user=user), login_entry_id=entry.id)


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
