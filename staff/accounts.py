"""Managing staff accounts (admins): inviting colleagues, roles, deactivating and reactivating.

Every change is audited in its own transaction (callers commit). An account is never deleted:
a deactivated one keeps its audit trail, and its sessions end on their next request. There is
always at least one active administrator.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text, update

from addresses import email_key
from database import is_postgresql, utcnow
from extensions import db
from mailer.services import queue_mail
from signing import TokenInvalid, external_url
from staff.audit_trail import record_action
from staff.auth import StaffAccountError, create_staff_user, normalise_staff_email
from staff.invitations import (
    INVITATION_VALID_FOR,
    InvitationAlreadyUsed,
    invitation_token,
    new_invitation,
    read_invitation,
)
from staff.models import ADMIN, ROLES, StaffInvitation, StaffUser
from staff.passwords import password_problem


class AccountError(ValueError):
    """The form cannot be done as sent; the message is shown by `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_new_password(password: str, confirm: str, email: str) -> None:
    """Raises AccountError, by the field to correct, unless the two match and the rule allows it."""
    if password != confirm:
        raise AccountError("confirm", "The two passwords are not the same.")
    problem = password_problem(password, email)
    if problem is not None:
        raise AccountError("password", problem)


class LastAdministrator(AccountError):
    def __init__(self) -> None:
        super().__init__(
            "role",
            "This is the last active administrator: make someone else an administrator first.",
        )


class InvitationWithdrawn(Exception):
    """An admin withdrew the invitation (or it is not ours any more)."""


class AccountAlreadyExists(Exception):
    """An account for the invited address exists (made another way since the invitation)."""


@dataclass(frozen=True)
class AccountsOverview:
    accounts: list[StaffUser]
    invitations: list[tuple[StaffInvitation, str | None]]  # pending, with who invited


def accounts_overview() -> AccountsOverview:
    accounts = db.session.execute(
        select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.email_key)
    ).scalars()
    pending = db.session.execute(
        select(StaffInvitation, StaffUser.email)
        .outerjoin(StaffUser, StaffInvitation.invited_by_id == StaffUser.id)
        .where(
            StaffInvitation.accepted_at.is_(None),
            StaffInvitation.revoked_at.is_(None),
            StaffInvitation.expires_at > utcnow(),
        )
        .order_by(StaffInvitation.created_at.desc())
    ).all()
    return AccountsOverview(list(accounts), [tuple(row) for row in pending])


def _account(account_id: int) -> StaffUser:
    user = db.session.get(StaffUser, account_id)
    if user is None:
        raise LookupError(account_id)
    return user


def invite(email: str, role: str, by: StaffUser, ip: str | None) -> StaffInvitation:
    """Mail a link, valid 72 hours, where the colleague chooses a password."""
    if role not in ROLES:
        raise AccountError("role", "Choose a role.")
    try:
        address = normalise_staff_email(email or "")
    except StaffAccountError as exc:
        raise AccountError("email", "Enter a valid email address, like name@example.com.") from exc
    key = email_key(address)
    if db.session.execute(select(StaffUser.id).where(StaffUser.email_key == key)).first():
        raise AccountError("email", "There is already a staff account for this address.")
    invitation = new_invitation(address, role)
    row = StaffInvitation(
        email=address,
        email_key=key,
        role=role,
        nonce=invitation.nonce,
        invited_by_id=by.id,
        expires_at=utcnow() + INVITATION_VALID_FOR,
    )
    db.session.add(row)
    token = invitation_token(invitation)
    queue_mail(
        to=address,
        template="staff_invitation",
        context={
            "invitation_url": external_url(f"/staff/invitation/{token}"),
            "role": role,
            "inviter": by.email,
            "hours": int(INVITATION_VALID_FOR.total_seconds() // 3600),
        },
    )
    record_action("staff_invited", f"{address} as {role}", by.id, ip)
    return row


def _invitation_by_nonce(nonce: str) -> StaffInvitation | None:
    return db.session.execute(
        select(StaffInvitation).where(StaffInvitation.nonce == nonce)
    ).scalar_one_or_none()


def open_invitation(token: str) -> StaffInvitation:
    """The invitation behind a link. Raises signing.TokenExpired, TokenInvalid,
    InvitationAlreadyUsed or InvitationWithdrawn."""

    def accepted(nonce: str) -> bool:
        row = _invitation_by_nonce(nonce)
        return row is not None and row.accepted_at is not None

    invitation = read_invitation(token, nonce_used=accepted)
    row = _invitation_by_nonce(invitation.nonce)
    if row is None or row.revoked_at is not None:
        raise InvitationWithdrawn()
    if row.email != invitation.email or row.role != invitation.role:
        raise TokenInvalid()
    return row


def accept_invitation(token: str, password: str, confirm: str, ip: str | None) -> StaffUser:
    """Make the invited account with the password chosen; the link is then spent."""
    row = open_invitation(token)
    check_new_password(password, confirm, row.email)
    claimed = db.session.execute(
        update(StaffInvitation)
        .where(
            StaffInvitation.id == row.id,
            StaffInvitation.accepted_at.is_(None),
            StaffInvitation.revoked_at.is_(None),
        )
        .values(accepted_at=utcnow())
        .returning(StaffInvitation.id)
    ).first()
    if claimed is None:
        raise InvitationAlreadyUsed()  # accepted a moment ago, in another request
    try:
        user = create_staff_user(row.email, password, row.role)
    except StaffAccountError as exc:
        raise AccountAlreadyExists() from exc
    db.session.flush()
    row.accepted_by_id = user.id
    record_action("invitation_accepted", f"{user.email} as {user.role}", user.id, ip)
    return user


def revoke_invitation(invitation_id: int, by: StaffUser, ip: str | None) -> StaffInvitation:
    row = db.session.get(StaffInvitation, invitation_id)
    if row is None:
        raise LookupError(invitation_id)
    if row.accepted_at is None and row.revoked_at is None:
        row.revoked_at = utcnow()
        record_action("invitation_withdrawn", f"{row.email} as {row.role}", by.id, ip)
    return row


def _lock_administrators() -> int:
    """How many active administrators there are, counted under a lock: two admins demoting
    each other at once must not both succeed."""
    if is_postgresql():
        query = select(StaffUser.id).where(StaffUser.role == ADMIN, StaffUser.active.is_(True))
        return len(db.session.execute(query.with_for_update()).all())
    # SQLite reads outside a transaction until the first write: take its one write lock now.
    db.session.execute(text("UPDATE staff_users SET id = id WHERE 1 = 0"))
    query = select(StaffUser.id).where(StaffUser.role == ADMIN, StaffUser.active.is_(True))
    return len(db.session.execute(query).all())


def _refuse_losing_the_last_administrator(user: StaffUser) -> None:
    if user.is_admin and user.active and _lock_administrators() <= 1:
        raise LastAdministrator()


def change_role(account_id: int, role: str, by: StaffUser, ip: str | None) -> StaffUser:
    user = _account(account_id)
    if role not in ROLES:
        raise AccountError("role", "Choose a role.")
    if user.role == role:
        return user
    if role != ADMIN:
        _refuse_losing_the_last_administrator(user)
    previous, user.role = user.role, role
    record_action("role_changed", f"{user.email}: {previous} → {role}", by.id, ip)
    return user


def deactivate(account_id: int, by: StaffUser, ip: str | None) -> StaffUser:
    """The account can no longer sign in, and its open sessions end on their next request."""
    user = _account(account_id)
    if not user.active:
        return user
    _refuse_losing_the_last_administrator(user)
    user.active = False
    user.deactivated_at = utcnow()
    user.session_epoch = (user.session_epoch or 0) + 1
    record_action("staff_deactivated", user.email, by.id, ip)
    return user


def reactivate(account_id: int, by: StaffUser, ip: str | None) -> StaffUser:
    user = _account(account_id)
    if user.active:
        return user
    user.active = True
    user.deactivated_at = None
    record_action("staff_reactivated", user.email, by.id, ip)
    return user


def turn_off_two_factor(account_id: int, by: StaffUser, ip: str | None) -> StaffUser:
    """For a colleague who lost their authenticator and their recovery codes."""
    user = _account(account_id)
    if user.two_factor_enabled:
        user.totp_secret = None
        user.totp_enabled_at = None
        user.totp_last_step = None
        user.recovery_code_hashes = []
        record_action("two_factor_turned_off", f"{user.email} (by an administrator)", by.id, ip)
    return user
