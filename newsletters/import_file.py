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
import tempfile
import time
from collections.abc import Iterator
from typing import BinaryIO

from newsletters.import_rows import ImportFileError, ImportRow, row_reader

CHUNK = 1 << 20
# Lines read between two pauses of no length: an upload is read in its request, and a gevent
# worker (README "Production") runs its other requests only when this one waits.
LINES_BETWEEN_PAUSES = 2000
PAUSE_SECONDS = 0.0001  # not 0: gevent's sleep(0) runs no timers and polls no sockets
SEPARATORS = (",", ";", "\t")
# Fed to the CSV reader after the last line: read back inside a field, a quote was left open.
# Lines holding NUL are refused, so no file can contain it.
_END_MARK = "\x00end of file\x00"


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
            self.kind, self._build_row = row_reader(self.columns)
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
                if lines_read % LINES_BETWEEN_PAUSES == 0:
                    time.sleep(PAUSE_SECONDS)  # gevent's sleep there: its other requests go on
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
