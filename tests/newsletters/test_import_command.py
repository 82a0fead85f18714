"""`flask subscribers import`: what an operator sees, and what the readers' records become."""

from __future__ import annotations

import csv
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import func, select

from extensions import db
from mailer.suppression_models import Suppression
from mailer.suppressions import is_suppressed
from newsletters.models import Consent, Subscriber, Subscription
from tests.mailer.processes import PROJECT_ROOT
from tests.newsletters.helpers import outbox, statuses
from tools.make_mailchimp_export import write_export

SLUG = "explaining-ukraine"


def run(runner, path: Path, *options: str):
    return runner.invoke(args=["subscribers", "import", str(path), "--newsletter", SLUG, *options])


def table_counts(app) -> tuple[int, int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Subscriber, Subscription, Consent, Suppression)
        )


def rejected_lines(path: Path) -> list[int]:
    with open(path, encoding="utf-8-sig", newline="") as rejected:
        return [int(row["line"]) for row in csv.DictReader(rejected)]


def test_a_mailchimp_export_is_imported_and_the_last_line_counts_it(lists, runner, tmp_path):
    path = tmp_path / "subscribed.csv"
    manifest = write_export(path, rows=600, bad_every=50, repeat_every=97, newline_every=20)

    result = run(runner, path)

    assert result.exit_code == 0, result.output
    skipped = manifest.rows - manifest.usable
    assert (
        result.stdout.splitlines()[-1]
        == f"imported {manifest.usable}, skipped {skipped}, suppressed 0"
    )
    assert table_counts(lists)[:3] == (manifest.usable, manifest.usable, manifest.usable)
    assert statuses(lists, manifest.first_address) == {SLUG: "confirmed"}


def test_rejected_rows_are_listed_with_their_line_numbers_beside_the_file(lists, runner, tmp_path):
    path = tmp_path / "subscribed.csv"
    manifest = write_export(path, rows=600, bad_every=50, newline_every=20)

    result = run(runner, path)

    beside = tmp_path / "subscribed.csv.rejected.csv"
    expected = sorted(manifest.reader_problems + manifest.invalid_addresses)
    assert rejected_lines(beside) == expected
    lines = result.stdout.splitlines()
    assert lines[-2] == f"rejected rows, with their line numbers: {beside}"
    assert f"{len(expected)} rows were rejected (line {expected[0]}: " in result.stderr


def test_a_file_with_no_bad_rows_leaves_no_rejected_file(lists, runner, tmp_path):
    path = tmp_path / "clean.csv"
    write_export(path, rows=20)

    result = run(runner, path)

    assert result.exit_code == 0
    assert not (tmp_path / "clean.csv.rejected.csv").exists()
    assert result.stderr == ""


def test_importing_the_same_file_again_changes_nothing(lists, runner, tmp_path):
    path = tmp_path / "subscribed.csv"
    manifest = write_export(path, rows=300, bad_every=40, repeat_every=31)
    run(runner, path)
    before = table_counts(lists)

    again = run(runner, path)

    assert again.exit_code == 0
    assert again.stdout.splitlines()[-1] == f"imported 0, skipped {manifest.rows}, suppressed 0"
    assert table_counts(lists) == before


def test_unsubscribed_and_cleaned_exports_suppress_and_subscribe_nobody(lists, runner, tmp_path):
    left = tmp_path / "unsubscribed.csv"
    cleaned = tmp_path / "cleaned.csv"
    left_manifest = write_export(left, "unsubscribed", rows=40, bad_every=10)
    cleaned_manifest = write_export(cleaned, "cleaned", rows=30, domain="example.org")

    first = run(runner, left)
    second = run(runner, cleaned)

    assert first.stdout.splitlines()[-1] == (
        f"imported 0, skipped {40 - left_manifest.usable}, suppressed {left_manifest.usable}"
    )
    assert second.stdout.splitlines()[-1] == f"imported 0, skipped 0, suppressed {30}"
    assert table_counts(lists) == (0, 0, 0, left_manifest.usable + cleaned_manifest.usable)
    with lists.app_context():
        assert is_suppressed(cleaned_manifest.first_address)


def test_a_cp1251_file_with_semicolons_is_refused_unless_its_encoding_is_named(
    lists, runner, tmp_path
):
    path = tmp_path / "left.csv"
    manifest = write_export(path, "unsubscribed", rows=25, encoding="cp1251", delimiter=";")

    refused = run(runner, path)

    assert refused.exit_code != 0
    assert "The file is not UTF-8" in refused.output
    assert "Nothing was imported." in refused.output
    assert table_counts(lists) == (0, 0, 0, 0)
    assert not (tmp_path / "left.csv.rejected.csv").exists()

    named = run(runner, path, "--encoding", "cp1251")

    assert named.exit_code == 0, named.output
    assert named.stdout.splitlines()[-1] == f"imported 0, skipped 0, suppressed {manifest.usable}"


def test_a_utf16_file_with_a_byte_order_mark_and_quoted_newlines_is_read(lists, runner, tmp_path):
    path = tmp_path / "excel.csv"
    manifest = write_export(
        path, rows=50, encoding="utf-16", delimiter="\t", newline_every=5, line_ending="\r\n"
    )

    result = run(runner, path)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"imported {manifest.usable}, skipped 0, suppressed 0"


def test_a_file_without_an_email_column_is_refused_and_nothing_imported(lists, runner, tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("name,city\nOlena,Kyiv\n")

    result = run(runner, path)

    assert result.exit_code != 0
    assert 'No email column. The header row names these columns: "name", "city".' in result.output
    assert table_counts(lists) == (0, 0, 0, 0)


def test_an_unknown_list_is_refused_before_the_file_is_read(lists, runner, tmp_path):
    path = tmp_path / "readers.csv"
    path.write_text("email\nreader@example.com\n")

    result = runner.invoke(args=["subscribers", "import", str(path), "--newsletter", "nope"])

    assert result.exit_code != 0
    assert "There is no open list 'nope'. Nothing was imported." in result.output


def test_pending_rows_get_no_confirmation_without_the_flag(lists, runner, tmp_path):
    path = tmp_path / "readers.csv"
    path.write_text("email\nolena@example.com\npetro@example.com\n")

    result = run(runner, path)

    assert result.stdout.splitlines()[-1] == "imported 2, skipped 0, suppressed 0"
    assert statuses(lists, "olena@example.com") == {SLUG: "pending"}
    assert outbox(lists) == []


def test_pending_rows_are_mailed_a_confirmation_with_the_flag(lists, runner, tmp_path):
    path = tmp_path / "readers.csv"
    path.write_text("email\nolena@example.com\npetro@example.com\n")

    result = run(runner, path, "--send-confirmations")

    assert "confirmation mails queued: 2" in result.stdout.splitlines()
    assert sorted(mail.to_addr for mail in outbox(lists, "confirm")) == [
        "olena@example.com",
        "petro@example.com",
    ]


def test_rows_the_file_proves_confirmed_are_not_mailed_even_with_the_flag(lists, runner, tmp_path):
    path = tmp_path / "subscribed.csv"
    manifest = write_export(path, rows=40)

    result = run(runner, path, "--send-confirmations")

    pending = manifest.usable - manifest.confirmed
    assert f"confirmation mails queued: {pending}" in result.stdout.splitlines()
    assert len(outbox(lists, "confirm")) == pending


def test_output_holds_no_progress_bar_when_not_on_a_terminal(lists, runner, tmp_path):
    path = tmp_path / "subscribed.csv"
    write_export(path, rows=30)

    result = run(runner, path)

    assert result.stdout.splitlines() == [
        "subscribed.csv: Mailchimp export of subscribed contacts, 30 rows.",
        "imported 30, skipped 0, suppressed 0",
    ]


def test_on_a_terminal_a_progress_bar_runs_on_stderr_and_stdout_ends_with_the_counts(tmp_path):
    """An operator at a terminal watches the bar; a script reading stdout still gets the counts."""
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "SECRET_KEY": "test-secret-key",
        "APP_ENV": "development",
        "TERM": "xterm",
    }
    path = tmp_path / "subscribed.csv"
    write_export(path, rows=300)

    def flask(*args: str, **streams) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args],
                              cwd=PROJECT_ROOT, env=env, timeout=120, **streams)  # fmt: skip

    for setup in (["db", "upgrade"], ["newsletters", "add", SLUG, "--name", "Explaining"]):
        assert flask(*setup, capture_output=True).returncode == 0
    terminal, terminal_end = pty.openpty()
    seen: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(terminal, seen))  # the pty never fills
    reader.start()
    try:
        result = flask("subscribers", "import", str(path), "--newsletter", SLUG,
                       stdout=subprocess.PIPE, stderr=terminal_end, text=True)  # fmt: skip
    finally:
        os.close(terminal_end)
        reader.join(timeout=10)
        os.close(terminal)
    shown = b"".join(seen).decode("utf-8", "replace")

    assert result.returncode == 0, shown
    assert result.stdout.splitlines()[-1] == "imported 300, skipped 0, suppressed 0"
    assert "Importing" in shown
    assert "100%" in shown


def _read_all(descriptor: int, chunks: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(descriptor, 65536)
        except OSError:  # EIO: the other end is closed and everything was read
            return
        if not chunk:
            return
        chunks.append(chunk)
