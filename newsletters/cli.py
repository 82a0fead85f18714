"""`flask newsletters add SLUG …` and `flask subscribers import FILE --newsletter SLUG …`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask.cli import AppGroup

from extensions import db
from newsletters.import_file import ImportFile
from newsletters.import_report import RejectedRows
from newsletters.import_rows import ImportFileError
from newsletters.importing import KIND_NAMES, import_subscribers, importable_list
from newsletters.lists import InvalidList, add_list, is_archived, is_members_only
from newsletters.services import UnknownNewsletter

newsletters_cli = AppGroup("newsletters", help="Manage newsletter lists.")
subscribers_cli = AppGroup("subscribers", help="Bring readers in from another service.")


@newsletters_cli.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="The list's name as readers see it.")
@click.option("--description", default="", help="One or two sentences for the signup forms.")
@click.option("--default", "is_default", is_flag=True, help="Sign up to it when none is chosen.")
@click.option(
    "--members-only/--open-to-all",
    "members_only",
    default=None,
    help="Its campaigns go only to readers who are members (unchanged when neither is given).",
)
def add_command(
    slug: str, name: str, description: str, is_default: bool, members_only: bool | None
) -> None:
    """Add a newsletter list, or update the one with this SLUG (safe to run again)."""
    try:
        created = add_list(slug, name, description, is_default, members_only)
    except InvalidList as exc:
        hint = "SLUG" if exc.field == "slug" else f"--{exc.field}"
        raise click.BadParameter(exc.message, param_hint=hint) from exc
    db.session.commit()
    click.echo(f"{'added' if created else 'updated'} newsletter {slug}")
    if is_members_only(slug):
        click.echo(f"{slug} is members-only: its campaigns reach only readers who are members")
    if is_archived(slug):
        click.echo(f"{slug} is archived: readers do not see it until staff restore it")


@subscribers_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--newsletter", "slug", required=True, help="The list to subscribe them to.")
@click.option(
    "--send-confirmations",
    is_flag=True,
    help="Mail each pending reader a confirmation (through the outbox, within the daily caps).",
)
@click.option(
    "--encoding",
    help="The file's encoding, when it is neither UTF-8 nor marked (cp1252, cp1251, utf-16-le…).",
)
def import_command(file: Path, slug: str, send_confirmations: bool, encoding: str | None) -> None:
    """Import a Mailchimp audience export, or any CSV with an email column, into a list.

    A file that cannot be read whole is refused before anything is imported. Rows that cannot
    be imported are written, with their line numbers, to FILE.rejected.csv. Running it again
    on the same file changes nothing.
    """
    try:
        importable_list(slug)
        upload = ImportFile(file, encoding=encoding)
    except UnknownNewsletter:
        raise click.ClickException(
            f"There is no open list {slug!r}. Nothing was imported."
        ) from None
    except ImportFileError as refused:
        raise click.ClickException(f"{file.name}: {refused} Nothing was imported.") from None
    except OSError as error:
        raise click.ClickException(f"{file}: {error.strerror}. Nothing was imported.") from None
    rows = "row" if upload.row_count == 1 else "rows"
    click.echo(f"{file.name}: {KIND_NAMES[upload.kind]}, {upload.row_count:,} {rows}.")
    with upload, RejectedRows(_beside(file)) as rejected, _progress(upload.row_count) as advance:
        result = import_subscribers(
            upload,
            slug,
            send_confirmations=send_confirmations,
            report_problem=rejected.add,
            progress=advance,
        )
    if rejected.count:
        click.echo(rejected.summary(), err=True)
        click.echo(f"rejected rows, with their line numbers: {rejected.path}")
    if send_confirmations:
        click.echo(f"confirmation mails queued: {result.confirmations}")
    click.echo(result.summary())


def _beside(file: Path) -> Path:
    """FILE.rejected.csv beside the input, or in the working directory if that is read-only."""
    beside = file.with_name(f"{file.name}.rejected.csv")
    try:
        beside.touch()
        beside.unlink()
    except OSError:
        return Path.cwd() / beside.name
    return beside


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal (on stderr: stdout ends with the summary); none otherwise."""
    if not sys.stderr.isatty():
        yield lambda _rows: None
        return
    with click.progressbar(length=total, label="Importing", file=sys.stderr) as bar:
        yield bar.update
