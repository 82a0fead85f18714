"""An import file's rows: the file's kind read from its header, and each row with its consent
evidence read and checked (the decisions are set out in newsletters/import_file.py).

Pure: no database, no Flask.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from email_validator import validate_email

MAILCHIMP_ADDRESS = "email address"
ADDRESS_COLUMNS = frozenset(
    {"email", "e-mail", MAILCHIMP_ADDRESS, "e-mail address", "email_address"}
)
EVIDENCE_COLUMNS = ("optin_time", "optin_ip", "confirm_time", "confirm_ip")
UNSUB_TIME = "unsub_time"
CLEAN_TIME = "clean_time"
# Fed to the CSV reader after the last line: read back inside a field, a quote was left open.
# Lines holding NUL are refused, so no file can contain it.


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message says why, for the person importing."""


class ImportKind(StrEnum):
    SUBSCRIBED = "subscribed"  # Mailchimp export of subscribed contacts
    UNSUBSCRIBED = "unsubscribed"  # Mailchimp export of unsubscribed contacts
    CLEANED = "cleaned"  # Mailchimp export of cleaned (bouncing) contacts
    GENERIC = "generic"  # any other CSV with an email column

    @property
    def suppresses(self) -> bool:
        return self in (ImportKind.UNSUBSCRIBED, ImportKind.CLEANED)


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int  # physical line of the file where the row starts
    email: str  # as written, surrounding spaces stripped; not yet validated
    optin_time: datetime | None = None
    optin_ip: str | None = None
    confirm_time: datetime | None = None
    confirm_ip: str | None = None
    left_at: datetime | None = None  # UNSUB_TIME or CLEAN_TIME
    problem: str | None = None  # why the row cannot be imported; None when it can


def normalised_address(raw: str) -> str:
    """The address as signups store it, by email-validator's syntax rules (no DNS: a file of a
    million addresses cannot wait on a resolver). Raises ValueError with the reason."""
    return validate_email(raw, check_deliverability=False, allow_display_name=False).normalized


def column_key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).lower()


class _Unusable(ValueError):
    pass


def row_reader(header: tuple[str, ...]) -> tuple[ImportKind, Callable[..., ImportRow]]:
    keys = [column_key(name) for name in header]
    found = ", ".join(f'"{name.strip()}"' for name in header if name.strip()) or "none"
    address_columns = [index for index, key in enumerate(keys) if key in ADDRESS_COLUMNS]
    if not address_columns:
        raise ImportFileError(
            f"No email column. The header row names these columns: {found}. A Mailchimp "
            'export has "Email Address"; any other file needs a column named "email".'
        )
    if len(address_columns) > 1:
        named = ", ".join(f'"{header[index].strip()}"' for index in address_columns)
        raise ImportFileError(f"Several columns could hold the address ({named}): keep one.")
    address = address_columns[0]
    mailchimp = keys[address] == MAILCHIMP_ADDRESS
    left_column = [key for key in (UNSUB_TIME, CLEAN_TIME) if key in keys]
    if len(left_column) > 1:
        raise ImportFileError("The file has both UNSUB_TIME and CLEAN_TIME: export them apart.")
    if left_column and not mailchimp:
        raise ImportFileError(
            f"The file has a {left_column[0].upper()} column, so it lists people who left, but "
            'no "Email Address" column as Mailchimp writes it: rename the address column if '
            "this is a Mailchimp export."
        )
    width = len(header)

    def address_of(line: int, fields: list[str]) -> str | ImportRow:
        """The row's address, or the row as unusable, saying why."""
        if len(fields) != width:
            email = fields[address].strip() if address < len(fields) else ""
            problem = f"the row has {len(fields)} fields where the header has {width}"
            return ImportRow(line, email, problem=problem)
        return fields[address].strip() or ImportRow(line, "", problem="no address")

    if left_column:
        kind = ImportKind.UNSUBSCRIBED if left_column[0] == UNSUB_TIME else ImportKind.CLEANED
        left = keys.index(left_column[0])

        def suppression(line: int, fields: list[str]) -> ImportRow:
            email = address_of(line, fields)
            if isinstance(email, ImportRow):
                return email
            try:
                left_at = _utc_time(fields[left], header[left])
            except _Unusable:
                left_at = None  # the address is what counts: suppress it all the same
            return ImportRow(line, email, left_at=left_at)

        return kind, suppression

    if not (mailchimp and all(key in keys for key in EVIDENCE_COLUMNS)):

        def plain(line: int, fields: list[str]) -> ImportRow:
            email = address_of(line, fields)
            return email if isinstance(email, ImportRow) else ImportRow(line, email)

        return ImportKind.GENERIC, plain

    optin_time, optin_ip, confirm_time, confirm_ip = (keys.index(k) for k in EVIDENCE_COLUMNS)

    def subscribed(line: int, fields: list[str]) -> ImportRow:
        email = address_of(line, fields)
        if isinstance(email, ImportRow):
            return email
        try:
            return ImportRow(
                line,
                email,
                optin_time=_utc_time(fields[optin_time], header[optin_time]),
                optin_ip=_ip(fields[optin_ip], header[optin_ip]),
                confirm_time=_utc_time(fields[confirm_time], header[confirm_time]),
                confirm_ip=_ip(fields[confirm_ip], header[confirm_ip]),
            )
        except _Unusable as exc:
            return ImportRow(line, email, problem=str(exc))

    return ImportKind.SUBSCRIBED, subscribed


def _utc_time(value: str, column: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Unusable(
            f"{column.strip()} {value[:40]!r} is not a time like 2024-02-24 08:12:03 (UTC)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _ip(value: str, column: str) -> str | None:
    """The address in its canonical text form (inet_pton: ten times quicker than ipaddress)."""
    value = value.strip()
    if not value:
        return None
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return socket.inet_ntop(family, socket.inet_pton(family, value))
        except (OSError, ValueError):
            continue
    raise _Unusable(f"{column.strip()} {value[:40]!r} is not an IP address")
