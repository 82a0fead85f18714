"""Two-factor sign-in for staff: codes from an authenticator app (TOTP), and recovery codes.

Nothing here touches the database: the caller keeps the secret, the last accepted time-step and
the recovery-code hashes on the account, and saves what these functions hand back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import pyotp
import segno
from flask import current_app
from markupsafe import Markup

CODE_DIGITS = 6
STEP_SECONDS = 30
# One step either side forgives a phone clock that is up to 30 s off, and a code typed just as
# it changes.
STEPS_EACH_SIDE = 1

RECOVERY_CODE_COUNT = 10
# Without 0/O and 1/I, so a code read off paper is typed right; 32 symbols = 5 bits each.
_RECOVERY_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# 80 random bits: too many to guess from a leaked table even with a fast hash.
_RECOVERY_SYMBOLS = 16
_RECOVERY_GROUP = 4


def new_secret() -> str:
    """A fresh base32 secret (160 bits) for one account's authenticator."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, account_email: str, issuer: str | None = None) -> str:
    """The otpauth:// URI an authenticator app reads, labelled with SITE_NAME and the address."""
    issuer = issuer or current_app.config["SITE_NAME"]
    return _totp(secret).provisioning_uri(name=account_email, issuer_name=issuer)


def qr_code_svg(uri: str, title: str = "QR code for your authenticator app") -> Markup:
    """The URI as an inline <svg>, drawn here: no script, no image from another service."""
    code = segno.make(uri, error="m")
    # A light background keeps the code readable on a dark page; the border is the quiet zone.
    drawing = code.svg_inline(scale=4, border=4, dark="#000", light="#fff", title=title)
    # role="img" makes screen readers announce the <title> instead of the drawing's paths.
    return Markup(drawing.replace("<svg ", '<svg role="img" ', 1))


def time_step(now: datetime | float | None = None) -> int:
    """The TOTP time-step of `now`: a datetime, Unix seconds, or by default the current time."""
    moment = time.time() if now is None else now
    seconds = moment.timestamp() if isinstance(moment, datetime) else moment
    return int(seconds // STEP_SECONDS)


def verify_code(
    secret: str,
    code: str,
    last_used_step: int | None,
    now: datetime | float | None = None,
) -> int | None:
    """The time-step the code belongs to, or None when it is wrong, too old or already used.

    The caller stores the step returned as the account's last used step and passes it next
    time: a code, or any code older than it, is then refused, so a code seen over a shoulder
    or lifted from a log cannot be replayed (RFC 6238, section 5.2).
    """
    typed = "".join(code.split())
    if len(typed) != CODE_DIGITS or not (typed.isascii() and typed.isdigit()):
        return None
    totp = _totp(secret)
    current = time_step(now)
    for step in range(current - STEPS_EACH_SIDE, current + STEPS_EACH_SIDE + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), typed):
            return step
    return None


class RecoveryCodes(NamedTuple):
    codes: list[str]  # shown to the person once, never stored
    hashes: list[str]  # stored on the account


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> RecoveryCodes:
    codes = [_new_recovery_code() for _ in range(count)]
    return RecoveryCodes(codes=codes, hashes=[hash_recovery_code(code) for code in codes])


def hash_recovery_code(code: str) -> str:
    """SHA-256 of the code as normalised: the code's 80 random bits make a slow hash needless."""
    return hashlib.sha256(_normalise_recovery_code(code).encode("ascii")).hexdigest()


def redeem_recovery_code(code: str, stored_hashes: Sequence[str]) -> list[str] | None:
    """The hashes left once this code is spent (the caller stores them), or None if none match."""
    if not _normalise_recovery_code(code):
        return None
    typed = hash_recovery_code(code)
    remaining = list(stored_hashes)
    for index, stored in enumerate(remaining):
        if hmac.compare_digest(stored, typed):
            del remaining[index]
            return remaining
    return None


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=CODE_DIGITS, interval=STEP_SECONDS)


def _new_recovery_code() -> str:
    symbols = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_SYMBOLS))
    starts = range(0, _RECOVERY_SYMBOLS, _RECOVERY_GROUP)
    return "-".join(symbols[start : start + _RECOVERY_GROUP] for start in starts)


def _normalise_recovery_code(code: str) -> str:
    # People type codes in lower case, without the dashes, or with spaces where the dashes were.
    typed = "".join(code.replace("-", " ").split()).upper()
    well_formed = len(typed) == _RECOVERY_SYMBOLS and all(ch in _RECOVERY_ALPHABET for ch in typed)
    return typed if well_formed else ""
