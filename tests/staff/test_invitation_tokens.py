"""Invitation and password-reset links: expiry on a travelling clock, reuse, tampering."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import base64_decode, base64_encode

from signing import TokenExpired, TokenInvalid, make_token
from staff.invitations import (
    InvitationAlreadyUsed,
    PasswordResetLinkSpent,
    invitation_token,
    new_invitation,
    password_reset_token,
    read_invitation,
    read_password_reset,
)

SENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ARGON2_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"
NEW_ARGON2_HASH = "$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdG5ld3NhbHQ$bmV3aGFzaG5ld2hhc2g"


def never_used(nonce: str) -> bool:
    return False


def _with_payload(token: str, change) -> str:
    """The token with its payload rewritten and its timestamp and signature kept."""
    payload, timestamp, signature = token.rsplit(".", 2)
    data = json.loads(base64_decode(payload))
    change(data)
    rewritten = base64_encode(json.dumps(data, separators=(",", ":"))).decode()
    return f"{rewritten}.{timestamp}.{signature}"


@pytest.fixture
def invited(app_ctx):
    invitation = new_invitation("nadia@newsroom.test", "editor")
    return invitation, invitation_token(invitation, now=SENT)


@pytest.fixture
def reset_token(app_ctx):
    return password_reset_token(7, ARGON2_HASH, now=SENT)


def test_an_invitation_link_carries_the_address_the_role_and_its_nonce(invited):
    invitation, token = invited

    read = read_invitation(token, nonce_used=never_used, now=SENT + timedelta(minutes=5))

    assert read == invitation
    assert (read.email, read.role) == ("nadia@newsroom.test", "editor")


def test_an_invitation_still_works_at_the_end_of_its_72_hours(invited):
    invitation, token = invited

    read = read_invitation(token, nonce_used=never_used, now=SENT + timedelta(hours=72))

    assert read == invitation


def test_an_invitation_has_expired_a_second_after_72_hours(invited):
    _, token = invited

    with pytest.raises(TokenExpired):
        read_invitation(token, nonce_used=never_used, now=SENT + timedelta(hours=72, seconds=1))


def test_an_accepted_invitation_cannot_be_accepted_again(invited):
    _, token = invited
    accepted: set[str] = set()

    first = read_invitation(token, nonce_used=accepted.__contains__, now=SENT)
    accepted.add(first.nonce)

    with pytest.raises(InvitationAlreadyUsed):
        read_invitation(token, nonce_used=accepted.__contains__, now=SENT)


def test_a_second_invitation_to_the_same_address_is_not_spent_by_the_first(app_ctx):
    first = new_invitation("nadia@newsroom.test", "editor")
    second = new_invitation("nadia@newsroom.test", "editor")
    accepted = {first.nonce}

    read = read_invitation(invitation_token(second), nonce_used=accepted.__contains__)

    assert read == second


def test_an_invitation_whose_role_was_changed_to_admin_is_refused(invited):
    _, token = invited
    forged = _with_payload(token, lambda data: data.update(role="admin"))

    with pytest.raises(TokenInvalid):
        read_invitation(forged, nonce_used=never_used, now=SENT)


def test_an_invitation_whose_address_was_changed_is_refused(invited):
    _, token = invited
    forged = _with_payload(token, lambda data: data.update(email="mallory@evil.test"))

    with pytest.raises(TokenInvalid):
        read_invitation(forged, nonce_used=never_used, now=SENT)


def test_an_invitation_with_a_damaged_signature_is_refused(invited):
    _, token = invited
    # The signature's first character: its last one carries bits base64 decoding drops, so
    # changing it may leave the signature as it was.
    head, signature = token.rsplit(".", 1)
    damaged = f"{head}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"

    with pytest.raises(TokenInvalid):
        read_invitation(damaged, nonce_used=never_used, now=SENT)


def test_an_invitation_whose_timestamp_was_moved_later_is_refused(invited):
    _, token = invited
    payload, _, signature = token.rsplit(".", 2)
    later = base64_encode(int((SENT + timedelta(days=30)).timestamp()).to_bytes(4, "big"))

    with pytest.raises(TokenInvalid):
        read_invitation(
            f"{payload}.{later.decode()}.{signature}",
            nonce_used=never_used,
            now=SENT + timedelta(days=30),
        )


def test_an_invitation_signed_with_another_secret_key_is_refused(make_app, invited):
    _, token = invited
    with make_app(SECRET_KEY="another-deployment").app_context():
        with pytest.raises(TokenInvalid):
            read_invitation(token, nonce_used=never_used, now=SENT)


def test_a_newsletter_confirmation_token_is_not_an_invitation(app_ctx):
    confirm = make_token("confirm", {"email": "nadia@newsroom.test", "role": "admin", "nonce": "x"})

    with pytest.raises(TokenInvalid):
        read_invitation(confirm, nonce_used=never_used)


def test_a_password_reset_token_is_not_an_invitation(reset_token):
    with pytest.raises(TokenInvalid):
        read_invitation(reset_token, nonce_used=never_used, now=SENT)


def test_a_reset_link_names_its_account_while_the_password_is_unchanged(reset_token):
    account = read_password_reset(
        reset_token, current_password_hash={7: ARGON2_HASH}.get, now=SENT + timedelta(minutes=5)
    )

    assert account == 7


def test_a_reset_link_still_works_at_the_end_of_its_hour(reset_token):
    assert (
        read_password_reset(
            reset_token, current_password_hash={7: ARGON2_HASH}.get, now=SENT + timedelta(hours=1)
        )
        == 7
    )


def test_a_reset_link_has_expired_a_second_after_its_hour(reset_token):
    with pytest.raises(TokenExpired):
        read_password_reset(
            reset_token,
            current_password_hash={7: ARGON2_HASH}.get,
            now=SENT + timedelta(hours=1, seconds=1),
        )


def test_a_reset_link_dies_once_the_password_has_changed(reset_token):
    with pytest.raises(PasswordResetLinkSpent):
        read_password_reset(reset_token, current_password_hash={7: NEW_ARGON2_HASH}.get, now=SENT)


def test_a_reset_link_for_an_account_that_is_gone_is_refused(reset_token):
    with pytest.raises(PasswordResetLinkSpent):
        read_password_reset(reset_token, current_password_hash={}.get, now=SENT)


def test_a_reset_link_pointed_at_another_account_is_refused(reset_token):
    forged = _with_payload(reset_token, lambda data: data.update(account=1))

    with pytest.raises(TokenInvalid):
        read_password_reset(
            forged, current_password_hash={1: ARGON2_HASH, 7: ARGON2_HASH}.get, now=SENT
        )


def test_a_reset_link_does_not_carry_the_password_hash(reset_token):
    payload = base64_decode(reset_token.rsplit(".", 2)[0]).decode()

    assert ARGON2_HASH not in payload
    assert "argon2" not in payload


def test_an_invitation_token_is_not_a_reset_link(invited):
    _, token = invited

    with pytest.raises(TokenInvalid):
        read_password_reset(token, current_password_hash={7: ARGON2_HASH}.get, now=SENT)
