"""A forgotten password: the mailed reset link, and choosing a new password with it.

Asking answers the same page whether or not the address has an account, and does the same work
either way (one look-up, one mail queued, one audit row): the owner of a staff address gets a
reset link, any other address a note that it has no staff account. Neither the page nor the time
it takes tells a stranger which addresses are staff.
"""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from extensions import db
from mailer.services import queue_mail
from signing import external_url
from staff.accounts import AccountError, check_new_password
from staff.audit_trail import record_action
from staff.auth import (
    StaffAccountError,
    account_key,
    normalise_staff_email,
    set_password,
    typed_address,
)
from staff.invitations import (
    PASSWORD_RESET_VALID_FOR,
    password_reset_token,
    read_password_reset,
)
from staff.models import StaffUser

_NO_HASH = "$argon2id$v=19$m=65536,t=3,p=4$bm8gYWNjb3VudA$bm8gYWNjb3VudCBoZXJl"


def request_password_reset(typed: object, ip: str | None) -> None:
    """Queue the mail this address gets (the caller commits and answers the same either way)."""
    try:
        address = normalise_staff_email(typed if isinstance(typed, str) else "")
    except StaffAccountError as exc:
        message = "Enter a valid email address, like name@example.com."
        raise AccountError("email", message) from exc
    # Plain columns, not an account object: a row found costs what no row costs.
    found = db.session.execute(
        select(StaffUser.id, StaffUser.email, StaffUser.password_hash, StaffUser.active).where(
            StaffUser.email_key == account_key(address)
        )
    ).first()
    # The link is signed either way; only an active account's is sent.
    account_id, password_hash = (found.id, found.password_hash) if found else (0, _NO_HASH)
    link = external_url(f"/staff/reset-password/{password_reset_token(account_id, password_hash)}")
    if found is not None and found.active:
        minutes = int(PASSWORD_RESET_VALID_FOR.total_seconds() // 60)
        context = {"reset_url": link, "minutes": minutes}
        queue_mail(to=found.email, template="staff_password_reset", context=context)
    else:
        context = {"forgot_url": external_url(url_for("staff.forgot_password"))}
        queue_mail(to=address, template="staff_no_account", context=context)
    staff_id = found.id if found is not None else None
    record_action("password_reset_requested", typed_address(typed), staff_id, ip)


def _active_password_hash(account_id: int) -> str | None:
    user = db.session.get(StaffUser, account_id)
    return user.password_hash if user is not None and user.active else None


def account_for_reset(token: str) -> StaffUser:
    """The account a reset link is for. Raises signing.TokenExpired, TokenInvalid or
    invitations.PasswordResetLinkSpent (the password changed since: the link was used)."""
    account_id = read_password_reset(token, current_password_hash=_active_password_hash)
    return db.session.get(StaffUser, account_id)


def reset_password(token: str, password: str, confirm: str, ip: str | None) -> StaffUser:
    """Set the new password: the link dies with the old one, and so do other sessions."""
    user = account_for_reset(token)
    check_new_password(password, confirm, user.email)
    set_password(user, password)
    record_action("password_reset", user.email, user.id, ip)
    return user
