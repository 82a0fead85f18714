"""The links that let someone into a staff account: an invitation, and a password reset.

Token helpers only: the caller keeps what must be remembered (the nonces of invitations
already accepted) and looks accounts up. Both links are signed with SECRET_KEY, so changing
what they carry breaks them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from signing import TokenInvalid
from staff.link_tokens import make_staff_token, read_staff_token

INVITATION_VALID_FOR = timedelta(hours=72)
PASSWORD_RESET_VALID_FOR = timedelta(hours=1)


class InvitationAlreadyUsed(Exception):
    """The invitation was accepted before: an account was made from it already."""


class PasswordResetLinkSpent(Exception):
    """The password changed since the link was sent (it was used), or the account is gone."""


@dataclass(frozen=True)
class Invitation:
    email: str
    role: str
    # Tells one invitation from another to the same address: the one accepted is recorded.
    nonce: str


def new_invitation(email: str, role: str) -> Invitation:
    return Invitation(email=email, role=role, nonce=secrets.token_urlsafe(16))


def invitation_token(invitation: Invitation, now: datetime | None = None) -> str:
    payload = {"email": invitation.email, "role": invitation.role, "nonce": invitation.nonce}
    return make_staff_token("staff-invite", payload, now)


def read_invitation(
    token: str, *, nonce_used: Callable[[str], bool], now: datetime | None = None
) -> Invitation:
    """The invitation, if signed by us, younger than 72 hours, and not accepted before.

    Raises signing.TokenExpired, signing.TokenInvalid or InvitationAlreadyUsed.
    """
    payload = read_staff_token(
        "staff-invite", token, int(INVITATION_VALID_FOR.total_seconds()), now
    )
    try:
        invitation = Invitation(**{field: payload[field] for field in ("email", "role", "nonce")})
    except (KeyError, TypeError) as exc:
        raise TokenInvalid() from exc
    if nonce_used(invitation.nonce):
        raise InvitationAlreadyUsed()
    return invitation


def _password_fingerprint(password_hash: str) -> str:
    # The link is signed, not encrypted: it carries a digest of the stored hash, never the hash.
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def password_reset_token(account_id: int, password_hash: str, now: datetime | None = None) -> str:
    """A reset link's token, bound to the password the account has now."""
    payload = {"account": account_id, "password": _password_fingerprint(password_hash)}
    return make_staff_token("staff-reset", payload, now)


def read_password_reset(
    token: str,
    *,
    current_password_hash: Callable[[int], str | None],
    now: datetime | None = None,
) -> int:
    """The account id, if the link is ours, younger than an hour and its password unchanged.

    `current_password_hash` looks up the account's stored hash (None when there is no such
    account). Raises signing.TokenExpired, signing.TokenInvalid or PasswordResetLinkSpent.
    """
    payload = read_staff_token(
        "staff-reset", token, int(PASSWORD_RESET_VALID_FOR.total_seconds()), now
    )
    try:
        account_id, fingerprint = int(payload["account"]), str(payload["password"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenInvalid() from exc
    stored = current_password_hash(account_id)
    if stored is None or not secrets.compare_digest(_password_fingerprint(stored), fingerprint):
        raise PasswordResetLinkSpent()
    return account_id
