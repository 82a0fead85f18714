"""A forgotten password: the mailed reset link, and choosing a new password with it.

Asking answers the same page whether or not the address has an account, and does the same work
either way (one look-up, one mail queued, one audit row): the owner of a staff address gets a
reset link, any other address a note that it has no staff account. Neither the page nor the time
it takes tells a stranger which addresses are staff.
"""

from __future__ import annotations

from flask import url_for

from extensions import db
from mailer.services import queue_mail
from signing import external_url
from staff.accounts import AccountError
from staff.audit_trail import record_action
from staff.auth import (
    StaffAccountError,
    normalise_staff_email,
    set_password,
    staff_user_by_email,
    typed_address,
)
from staff.invitations import (
    PASSWORD_RESET_VALID_FOR,
    password_reset_token,
    read_password_reset,
)
from staff.models import StaffUser
from staff.passwords import password_problem


def request_password_reset(typed: object, ip: str | None) -> None:
    """Queue the mail this address gets (the caller commits and answers the same either way)."""
    try:
        address = normalise_staff_email(typed if isinstance(typed, str) else "")
    except StaffAccountError as exc:
        message = "Enter a valid email address, like name@example.com."
        raise AccountError("email", message) from exc
    user = staff_user_by_email(address)
    minutes = int(PASSWORD_RESET_VALID_FOR.total_seconds() // 60)
    if user is not None and user.active:
        token = password_reset_token(user.id, user.password_hash)
        link = external_url(f"/staff/reset-password/{token}")
        queue_mail(
            to=user.email,
            template="staff_password_reset",
            context={"reset_url": link, "minutes": minutes},
        )
    else:
        queue_mail(
            to=address,
            template="staff_no_account",
            context={"forgot_url": external_url(url_for("staff.forgot_password"))},
        )
    staff_id = user.id if user is not None else None
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
    if password != confirm:
        raise AccountError("confirm", "The two passwords are not the same.")
    problem = password_problem(password, user.email)
    if problem is not None:
        raise AccountError("password", problem)
    set_password(user, password)
    record_action("password_reset", user.email, user.id, ip)
    return user
