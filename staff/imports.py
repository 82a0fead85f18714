"""Importing a subscriber file uploaded on a staff page, with the same report as the command.

The upload arrives as a temporary file (Werkzeug spools any upload past 500 KB to disk), which
the reader streams: nothing is held in memory whatever the file's size. The rejected rows go to
a CSV file under the instance folder that the report page links to; such files hold what
people typed (bad addresses included), so they are deleted after REPORT_DAYS.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

from newsletters.catalogue import open_lists
from newsletters.import_file import ImportFile
from newsletters.import_report import RejectedRows
from newsletters.importing import KIND_NAMES, ImportResult, import_subscribers

REPORT_DAYS = 7
REPORT_NAME = re.compile(r"^[A-Za-z0-9_-]{20,40}$")


@dataclass(frozen=True)
class UploadReport:
    file_name: str
    kind: str  # what the file was read as: a Mailchimp export of …, or a list of addresses
    rows: int
    newsletter_slug: str
    result: ImportResult
    rejected_count: int
    rejected_summary: str
    report_name: str | None  # for the rejected rows' download; None when none was rejected

    @property
    def audit_detail(self) -> str:
        """What the audit log keeps of it: file, list and counts, never an address."""
        return (
            f"{self.file_name} into {self.newsletter_slug}: "
            f"{self.result.summary()}; {self.rejected_count} rejected"
        )


def list_choices() -> list[tuple[str, str]]:
    return [(newsletter.slug, newsletter.name) for newsletter in open_lists()]


def reports_folder() -> Path:
    folder = Path(current_app.instance_path) / "import-reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def rejected_rows_file(name: str) -> Path | None:
    """The rejected rows of an upload's report, if the name is one we made and it is kept."""
    if not REPORT_NAME.fullmatch(name):
        return None
    path = reports_folder() / f"{name}.csv"
    return path if path.is_file() else None


def import_upload(
    stream: BinaryIO,
    file_name: str,
    slug: str,
    *,
    encoding: str | None = None,
    send_confirmations: bool = False,
) -> UploadReport:
    """Import the uploaded file into the list; ImportFileError (nothing imported) when the file
    cannot be read whole, UnknownNewsletter when the list is not open. Commits each batch."""
    name = secrets.token_urlsafe(18)
    with ImportFile(stream, encoding=encoding, name=file_name) as upload:
        rejected = RejectedRows(reports_folder() / f"{name}.csv")
        with rejected:
            result = import_subscribers(
                upload, slug, send_confirmations=send_confirmations, report_problem=rejected.add
            )
    return UploadReport(
        file_name=file_name,
        kind=KIND_NAMES[upload.kind],
        rows=upload.row_count,
        newsletter_slug=slug,
        result=result,
        rejected_count=rejected.count,
        rejected_summary=rejected.summary(),
        report_name=name if rejected.count else None,
    )


def delete_old_reports(now: float | None = None) -> int:
    """Delete rejected-rows files older than REPORT_DAYS (a daily job of `outbox work`)."""
    cutoff = (now or time.time()) - REPORT_DAYS * 86400
    deleted = 0
    for path in reports_folder().glob("*.csv"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
