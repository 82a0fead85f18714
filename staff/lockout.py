"""The sign-in back-off of one account, kept in the database so every worker shares it.

After BACKOFF_AFTER wrong passwords in a row, attempts from unknown devices wait, longer after
each further failure (FIRST_PAUSE doubling up to MAX_PAUSE), and the owner is mailed a link that
ends the pause. A correct password from a known device (staff/devices.py) passes at any time,
so a stranger's wrong guesses can slow only strangers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from database import utcnow
from extensions import db
from mailer.services import queue_mail
from signing import TokenInvalid, external_url
from staff.audit_trail import record_action
from staff.link_tokens import make_staff_token, read_staff_token
from staff.models import StaffUser

BACKOFF_AFTER = 5
FIRST_PAUSE = timedelta(minutes=1)
MAX_PAUSE = timedelta(hours=1)
UNLOCK_VALID_FOR = timedelta(hours=24)


def is_paused(user: StaffUser, now: datetime | None = None) -> bool:
    return user.locked_until is not None and (now or utcnow()) < user.locked_until


def pause_after(failures: int) -> timedelta | None:
    """How long attempts wait after `failures` wrong passwords in a row (None: not at all)."""
    excess = failures - BACKOFF_AFTER
    if excess < 0:
        return None
    return min(FIRST_PAUSE * 2 ** min(excess, 16), MAX_PAUSE)


def record_failure(user: StaffUser, ip: str | None = None) -> None:
    """Count a wrong password (atomically: two workers may fail at once); pause the account when
    the count says so, and mail the owner an unlock link when a pause begins."""
    failures = db.session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id)
        .values(failed_logins=StaffUser.failed_logins + 1)
        .returning(StaffUser.failed_logins)
    ).scalar_one()
    user.failed_logins = failures
    pause = pause_after(failures)
    if pause is None:
        return
    user.locked_until = utcnow() + pause
    if failures == BACKOFF_AFTER:
        user.lockouts = (user.lockouts or 0) + 1
        record_action(
            "account_paused", f"{user.email} after {failures} wrong passwords", user.id, ip
        )
        _mail_unlock_link(user)


def clear(user: StaffUser) -> None:
    user.failed_logins = 0
    user.locked_until = None


def _mail_unlock_link(user: StaffUser) -> None:
    token = make_staff_token("staff-unlock", {"account": user.id, "lockout": user.lockouts})
    queue_mail(
        to=user.email,
        template="staff_unlock",
        context={
            "unlock_url": external_url(f"/staff/unlock/{token}"),
            "failures": BACKOFF_AFTER,
            "hours": int(UNLOCK_VALID_FOR.total_seconds() // 3600),
        },
    )


class UnlockLinkSpent(Exception):
    """The pause this link was sent for is over (used, or a sign-in happened since)."""


def account_to_unlock(token: str) -> StaffUser:
    """The account a mailed unlock link is for. Raises TokenExpired, TokenInvalid, or
    UnlockLinkSpent when that pause has already ended."""
    payload = read_staff_token("staff-unlock", token, int(UNLOCK_VALID_FOR.total_seconds()))
    try:
        account_id, lockout = int(payload["account"]), int(payload["lockout"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenInvalid() from exc
    user = db.session.get(StaffUser, account_id)
    if user is None or not user.active:
        raise TokenInvalid()
    if user.lockouts != lockout or user.failed_logins == 0:
        raise UnlockLinkSpent()
    return user


def unlock(token: str, ip: str | None) -> StaffUser:
    """End the pause a mailed link was sent for; the caller commits (and trusts this browser)."""
    user = account_to_unlock(token)
    clear(user)
    record_action("account_unlocked", f"{user.email} (mailed link)", user.id, ip)
    return user
