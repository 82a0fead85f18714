"""Authenticator secrets as the database keeps them: sealed with a key derived from SECRET_KEY.

A copy of the database (a backup, a dump handed to a contractor) must not be enough to make an
administrator's codes: each secret is encrypted with AES-GCM under a key that HKDF derives from
SECRET_KEY, the account's id bound in as associated data so a sealed value copied onto another
account does not open. The sealed form is 64 characters (a 12-byte nonce, the 20 bytes of the
secret and a 16-byte tag, in unpadded base64url), so it fits the column as it is.

A 32-character base32 value is a secret stored in the clear before sealing began: it is still
read, and sealed the next time its owner signs in with a code. A value that does not open (the
SECRET_KEY was changed) reads as no secret: the owner signs in with a recovery code or an
administrator turns two-factor off for them, and a warning says why.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

log = logging.getLogger(__name__)

_KEY_PURPOSE = b"staff authenticator secrets, v1"
_NONCE_BYTES = 12
_SECRET_BYTES = 20  # two_factor.new_secret(): 160 bits, 32 base32 characters
_CLEAR_LENGTH = 32
SEALED_LENGTH = 64


def seal(secret: str, account_id: int) -> str:
    """The base32 `secret` of account `account_id`, encrypted for the database."""
    raw = base64.b32decode(secret.upper(), casefold=True)
    if len(raw) != _SECRET_BYTES:
        raise ValueError("an authenticator secret is 160 bits")
    nonce = os.urandom(_NONCE_BYTES)
    sealed = nonce + _cipher().encrypt(nonce, raw, _bound_to(account_id))
    return base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")


def is_sealed(stored: str) -> bool:
    return len(stored) == SEALED_LENGTH


def unseal(stored: str, account_id: int) -> str | None:
    """The base32 secret a stored value holds; None when it cannot be opened with this key."""
    if not is_sealed(stored):
        return stored if len(stored) == _CLEAR_LENGTH else None  # stored before sealing began
    try:
        sealed = base64.urlsafe_b64decode(stored + "=" * (-len(stored) % 4))
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        raw = _cipher().decrypt(nonce, ciphertext, _bound_to(account_id))
    except (InvalidTag, binascii.Error, ValueError):
        log.warning(
            "the authenticator secret of staff account #%s cannot be opened with this SECRET_KEY "
            "(was it changed?): they can sign in with a recovery code, or an administrator can "
            "turn two-factor sign-in off for them",
            account_id,
        )
        return None
    return base64.b32encode(raw).decode("ascii")


def _cipher() -> AESGCM:
    secret_key = current_app.config["SECRET_KEY"]
    key_material = secret_key.encode() if isinstance(secret_key, str) else secret_key
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_PURPOSE).derive(
        key_material
    )
    return AESGCM(key)


def _bound_to(account_id: int) -> bytes:
    return f"staff_users.totp_secret #{account_id}".encode()
