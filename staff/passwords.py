"""The password rule for staff accounts: long enough, bounded, not common, not the address."""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

MIN_PASSWORD_LENGTH = 12
# Argon2 hashes whatever it is handed: a bound keeps the work of one sign-in attempt bounded.
MAX_PASSWORD_LENGTH = 1024

# Django's list (see staff/data/README.md for its origin and licence): lowercase, one a line.
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"


class PasswordRejected(ValueError):
    """The password breaks the rule; the message is for the person choosing it."""


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list, read on first use and kept for the life of the process."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(stripped for line in lines if (stripped := line.strip()))


def _address_forms(email: str) -> set[str]:
    address = email.strip().casefold()
    local_part = address.rpartition("@")[0]
    return {form for form in (address, local_part) if form}


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why this password may not be used for the account at `email`, or None when it may."""
    # Spaces at either end are easy to type by accident and add nothing an attacker must guess.
    meaningful = password.strip()
    if len(meaningful) < MIN_PASSWORD_LENGTH:
        return (
            f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters "
            "(spaces at the start or end do not count). A few unrelated words make a good one."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Choose a password of at most {MAX_PASSWORD_LENGTH} characters."
    if email and meaningful.casefold() in _address_forms(email):
        return "Choose a password that is not your email address or the part before the @."
    if meaningful.lower() in common_passwords():
        return (
            "This password is on a list of common passwords that attackers try first. "
            "Choose another."
        )
    return None


def check_password(password: str, email: str | None = None) -> None:
    """Raises PasswordRejected with a message for the person when the password breaks the rule."""
    problem = password_problem(password, email)
    if problem is not None:
        raise PasswordRejected(problem)
