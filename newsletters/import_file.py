"""Reading a subscriber import file: a Mailchimp audience export, or any CSV with an email column.

Pure: no database, no Flask. Opening a file reads it once from end to end (decoding and CSV
structure) before any row is handed out, so a file that cannot be read whole (another encoding,
a quote that never closes, no address column) is refused with a message before anything is
imported, never half-imported. `rows()` then reads it again. Memory stays constant whatever the
size: both passes stream, and a stream that cannot seek is first copied to a temporary file.

Decisions, for the people importing:
- Encoding: UTF-8 with or without a byte-order mark, UTF-16 or UTF-32 with one; anything else
  only when named (`encoding="cp1251"`). A file that is not valid in its encoding is refused
  with the line of the first bad byte.
- Separator: `,`, `;` or tab, whichever the header line holds most of (outside quotes).
- Columns are matched case-insensitively, surrounding spaces ignored. The address column is
  `Email Address` (Mailchimp) or, in any other file, `email`, `e-mail`, `email address`,
  `e-mail address` or `email_address`; exactly one of them.
- A Mailchimp export of subscribed contacts has `Email Address` and all of OPTIN_TIME,
  OPTIN_IP, CONFIRM_TIME and CONFIRM_IP; with one of them missing the file is read as a plain
  list (its rows become pending: a confirmation cannot be proved). An `UNSUB_TIME` column makes
  it an export of unsubscribed contacts, `CLEAN_TIME` one of cleaned contacts.
- A row whose OPTIN/CONFIRM time or IP cannot be read is reported as unusable with the reason,
  not imported with the evidence dropped: those fields are what proves consent. In unsubscribed
  and cleaned exports only the address matters: an unreadable UNSUB_TIME/CLEAN_TIME is ignored.
  Times are ISO 8601 (Mailchimp writes `YYYY-MM-DD HH:MM:SS`); without a zone they are UTC.
- A row with more or fewer fields than the header is unusable (its fields cannot be matched to
  columns). Blank lines and rows of empty fields (spreadsheets leave them) are no rows at all.
- Line numbers are physical lines of the file, where the row starts, as an editor counts them.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import BinaryIO

from email_validator import validate_email

CHUNK = 1 << 20
SEPARATORS = (",", ";", "\t")
MAILCHIMP_ADDRESS = "email address"
ADDRESS_COLUMNS = frozenset(
    {"email", "e-mail", MAILCHIMP_ADDRESS, "e-mail address", "email_address"}
)
EVIDENCE_COLUMNS = ("optin_time", "optin_ip", "confirm_time", "confirm_ip")
UNSUB_TIME = "unsub_time"
CLEAN_TIME = "clean_time"
# Fed to the CSV reader after the last line: read back inside a field, a quote was left open.
# Lines holding NUL are refused, so no file can contain it.
_END_MARK = "\x00end of file\x00"


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


class ImportFile:
    """An import file checked from end to end; `rows()` hands out its rows one by one.

    `source` is a path or a binary stream (an upload). Use it as a context manager, or call
    close(): a path, or a stream that could not seek, is held open until then.
    """

    def __init__(
        self,
        source: str | os.PathLike | BinaryIO,
        *,
        encoding: str | None = None,
        name: str | None = None,
    ) -> None:
        self._owned: BinaryIO | None = None
        if isinstance(source, str | os.PathLike):
            self._owned = self._binary = open(source, "rb")  # closed by close()
            self.name = name or os.path.basename(source)
        else:
            self._binary = source
            self.name = name or os.path.basename(str(getattr(source, "name", "") or ""))
            if not source.seekable():
                self._owned = self._binary = tempfile.TemporaryFile()
                shutil.copyfileobj(source, self._binary, CHUNK)
                self._binary.seek(0)
        try:
            self._origin = self._binary.tell()
            head = self._binary.read(4096)
            if not head:
                raise ImportFileError("The file is empty.")
            self.encoding, self._start = _text_encoding(head, encoding)
            self._explicit = encoding is not None
            self.delimiter = self._guess_delimiter()
            self.columns, self.row_count = self._check_whole_file()
            self.kind, self._build_row = _row_reader(self.columns)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ImportFile:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def rows(self) -> Iterator[ImportRow]:
        """Every row after the header, in file order, unusable ones with their `problem`."""
        records = self._records(self.delimiter)
        try:
            next(records)  # the header, checked already
            build = self._build_row
            for line, fields in records:
                yield build(line, fields)
        finally:
            records.close()

    # --- reading -------------------------------------------------------------------------

    def _text(self) -> io.TextIOWrapper:
        self._binary.seek(self._origin + self._start)
        return io.TextIOWrapper(self._binary, encoding=self.encoding, newline="")

    def _guess_delimiter(self) -> str:
        text = self._text()
        try:
            first = next((line for line in text if line.strip()), "")
        except UnicodeDecodeError:
            raise self._undecodable() from None
        finally:
            text.detach()
        counts = {separator: _count_outside_quotes(first, separator) for separator in SEPARATORS}
        best = max(SEPARATORS, key=lambda separator: counts[separator])
        return best if counts[best] else ","

    def _check_whole_file(self) -> tuple[tuple[str, ...], int]:
        records = self._records(self.delimiter)
        try:
            header = next(records, None)
            if header is None:
                raise ImportFileError("The file has no header row: it holds only blank lines.")
            count = sum(1 for _ in records)
        except UnicodeDecodeError:
            raise self._undecodable() from None
        finally:
            records.close()
        return tuple(header[1]), count

    def _records(self, delimiter: str) -> Iterator[tuple[int, list[str]]]:
        """(line where it starts, fields) for every non-blank record, the header included."""
        text = self._text()
        lines_read = 0

        def lines() -> Iterator[str]:
            nonlocal lines_read
            for line in text:
                lines_read += 1
                if "\x00" in line:
                    raise ImportFileError(
                        f"Line {lines_read} holds a NUL character: this is not a text CSV file "
                        "(a UTF-16 file without a byte-order mark? then name its encoding, "
                        "e.g. utf-16-le)."
                    )
                yield line
            yield _END_MARK + "\n"

        reader = csv.reader(lines(), delimiter=delimiter)
        try:
            while True:
                start = lines_read + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise ImportFileError(
                        f"Line {start} cannot be read as CSV ({exc}): "
                        "is a quote opened there and never closed?"
                    ) from None
                if fields and _END_MARK in fields[-1]:
                    if len(fields) == 1 and fields[0] == _END_MARK:
                        return
                    raise ImportFileError(
                        f"The row starting on line {start} opens a quote that is never closed."
                    )
                if "".join(fields).strip():
                    yield start, fields
        finally:
            text.detach()

    def _undecodable(self) -> ImportFileError:
        line, bad = _first_undecodable(self._binary, self.encoding, self._origin + self._start)
        shown = " ".join(f"0x{byte:02X}" for byte in bad[:4])
        if self._explicit:
            return ImportFileError(
                f"The file is not valid {self.encoding}: line {line} holds the bytes {shown}."
            )
        return ImportFileError(
            f"The file is not UTF-8: line {line} holds the bytes {shown}, which UTF-8 does not "
            'allow. Save it again as "CSV UTF-8" (Excel: Save As, CSV UTF-8), or name its '
            "encoding: cp1252 for Western European Excel, cp1251 for Cyrillic."
        )


def _text_encoding(head: bytes, named: str | None) -> tuple[str, int]:
    """(codec, bytes to skip): a byte-order mark decides, else the named encoding, else UTF-8.

    The mark is skipped rather than decoded, so every codec reads from a plain start (and a
    decoding error can be traced to its line by decoding again from there).
    """
    marks = (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    )
    marked = next(((codec, len(mark)) for mark, codec in marks if head.startswith(mark)), None)
    if named is not None:
        try:
            codec = codecs.lookup(named).name
        except LookupError:
            raise ImportFileError(f"Unknown encoding {named!r}.") from None
        if marked and codecs.lookup(marked[0]).name.startswith(codec.removesuffix("-sig")):
            return marked  # "utf-8" or "utf-16" named, and the mark says which exactly
        return codec, 0
    if marked:
        return marked
    if b"\x00" in head:
        raise ImportFileError(
            "The file holds NUL bytes: UTF-16 without a byte-order mark, or not a CSV file. "
            "Name its encoding (utf-16-le or utf-16-be) or save it as CSV UTF-8."
        )
    return "utf-8", 0


def _first_undecodable(binary: BinaryIO, codec: str, start: int) -> tuple[int, bytes]:
    """The physical line of the first byte the codec refuses, and the bytes refused."""
    binary.seek(start)
    decoder = codecs.getincrementaldecoder(codec)("strict")
    breaks = 0
    after_cr = False
    while chunk := binary.read(CHUNK):
        try:
            text = decoder.decode(chunk)
            bad = b""
        except UnicodeDecodeError as exc:
            text = exc.object[: exc.start].decode(codec)
            bad = exc.object[exc.start : exc.end]
        breaks += text.count("\n") + text.count("\r") - text.count("\r\n")
        if after_cr and text.startswith("\n"):
            breaks -= 1
        if bad:
            return breaks + 1, bad
        after_cr = text.endswith("\r") if text else after_cr
    return breaks + 1, b""


def _count_outside_quotes(line: str, separator: str) -> int:
    return sum(part.count(separator) for part in line.split('"')[::2])


# --- rows ------------------------------------------------------------------------------------


class _Unusable(ValueError):
    pass


def _row_reader(header: tuple[str, ...]) -> tuple[ImportKind, Callable[..., ImportRow]]:
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
