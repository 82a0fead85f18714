"""`flask suppressions …` and `flask mail bounce`: the addresses that get no list mail."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from addresses import InvalidEmail
from extensions import db
from mailer import suppressions
from mailer.bounces import read_report
from mailer.campaign_outbox import record_bounce
from mailer.suppression_models import BOUNCE, ERASED, MANUAL, REASONS

# sysexits.h: a temporary failure; every MTA keeps the message and runs the command again later.
EX_TEMPFAIL = 75
# A bounce with the whole original attached is rarely past a few hundred KiB; the report
# itself comes first, so what is past this is read and dropped.
LARGEST_BOUNCE = 10 * 1024 * 1024

suppressions_cli = AppGroup("suppressions", help="The addresses that get no list mail.")
mail_cli = AppGroup("mail", help="Mail that comes back to us: bounces and complaints.")

_ADDABLE_REASONS = tuple(reason for reason in REASONS if reason != ERASED)


class EmailAddress(click.ParamType):
    """An address as the suppression list keys it (normalised), or a usage error."""

    name = "email"

    def convert(self, value, param, ctx):
        try:
            return suppressions.normalised_address(value)
        except InvalidEmail as error:
            self.fail(f"{value!r} is not an email address ({error})", param, ctx)


@contextmanager
def _database_errors_explained():
    try:
        yield
    except SQLAlchemyError as error:
        _rollback()
        raise _database_trouble(error) from None


@suppressions_cli.command("add")
@click.argument("email", type=EmailAddress())
@click.option(
    "--reason",
    default=MANUAL,
    show_default=True,
    help=f"One of {', '.join(_ADDABLE_REASONS)}; any other text is kept as a manual "
    "suppression's note (e.g. --reason 'asked by phone').",
)
def add_command(email: str, reason: str) -> None:
    """Stop all list mail to EMAIL (campaigns, welcome and notices; confirmations still go)."""
    code, detail = _reason_and_detail(reason)
    with _database_errors_explained():
        added = suppressions.suppress(email, code, detail)
        db.session.commit()
        entry = None if added else suppressions.suppression_for(email)
    if entry is None:
        click.echo(f"suppressed {email} ({code})")
    else:
        click.echo(f"{email} was already suppressed ({_since(entry)}); left as it was")


@suppressions_cli.command("remove")
@click.argument("email", type=EmailAddress())
def remove_command(email: str) -> None:
    """Let list mail reach EMAIL again."""
    with _database_errors_explained():
        removed = suppressions.unsuppress(email)
        db.session.commit()
    if not removed:
        raise click.ClickException(f"{email} is not suppressed; nothing was removed")
    click.echo(f"removed {email}: list mail reaches it again")


@suppressions_cli.command("list")
@click.option("--reason", type=click.Choice(REASONS), help="Only this reason.")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@click.option("--per-page", type=click.IntRange(1, 1000), default=100, show_default=True)
def list_command(reason: str | None, page: int, per_page: int) -> None:
    """Suppressed addresses, newest first: date, reason, address, note."""
    with _database_errors_explained():
        listing = suppressions.list_suppressions(page=page, per_page=per_page, reason=reason)
    for entry in listing.entries:
        shown = entry.address or f"(erased reader {entry.address_hash[:12]}…)"
        line = f"{entry.created_at:%Y-%m-%d %H:%M}  {entry.reason:<19}  {shown}"
        click.echo(f"{line}  {entry.detail}".rstrip())
    noun = "address" if listing.total == 1 else "addresses"
    click.echo(f"{listing.total} suppressed {noun}; page {listing.page} of {listing.pages}")


@mail_cli.command("bounce")
def bounce_command() -> None:
    """Read one returned message on stdin and suppress whom it reports.

    A delivery report (RFC 3464) with a permanent failure (Action: failed, Status: 5.x.x)
    suppresses that recipient; an abuse report (RFC 5965) suppresses the reader who complained.
    Delays, auto-replies and anything unreadable are ignored. Exits 0 in all those cases, so a
    mail server can pipe every bounce here (Postfix: a pipe(8) transport for the bounce
    address). When the database cannot be reached it exits 75 (EX_TEMPFAIL) instead, so the
    mail server keeps the message and runs this again later.
    """
    raw = _read_stdin()
    reading = read_report(raw)
    try:
        added = [suppressions.suppress(f.address, f.reason, f.detail) for f in reading.findings]
        for finding in reading.findings:
            if finding.reason == BOUNCE:  # a campaign's figures count it as bounced
                record_bounce(finding.address)
        db.session.commit()
    except SQLAlchemyError as error:
        _rollback()
        click.echo(f"{reading.kind}: {_database_trouble(error).message}", err=True)
        click.echo("exit 75: the mail server should keep the message and try again", err=True)
        click.get_current_context().exit(EX_TEMPFAIL)
    for finding, was_added in zip(reading.findings, added, strict=True):
        if was_added:
            click.echo(f"{reading.kind}: suppressed {finding.address} ({finding.reason})")
        else:
            click.echo(f"{reading.kind}: {finding.address} was already suppressed")
    for note in reading.notes:
        click.echo(f"{reading.kind}: {note}")


def _read_stdin() -> bytes:
    stream = sys.stdin.buffer
    raw = stream.read(LARGEST_BOUNCE)
    while stream.read(1024 * 1024):
        pass  # drain, so the mail server's pipe does not break
    return raw


def _reason_and_detail(text: str) -> tuple[str, str]:
    cleaned = " ".join(text.split())
    if cleaned.lower() in _ADDABLE_REASONS:
        return cleaned.lower(), ""
    if cleaned.lower() == ERASED:
        raise click.BadParameter(
            "erased addresses are kept as a hash only; that happens when a reader erases "
            "their data, not from here",
            param_hint="--reason",
        )
    return MANUAL, cleaned


def _since(entry: suppressions.SuppressionEntry) -> str:
    return f"{entry.reason} since {entry.created_at:%Y-%m-%d}"


def _rollback() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass  # the connection is gone: nothing was written


def _database_trouble(error: SQLAlchemyError) -> click.ClickException:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return click.ClickException(
        f"cannot reach the suppression list ({first_line}); is DATABASE_URL right, "
        "and has `flask db upgrade` run?"
    )
