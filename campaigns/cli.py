"""`flask campaigns create|test|send|status|pause|resume|cancel`.

Refusals (an unknown list or campaign, an empty subject or body, a time that has passed, a
cancelled or already sent campaign) print one line on stderr and exit 1; a malformed option
exits 2, as click does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import wraps
from typing import TextIO

import click
from flask.cli import AppGroup

from campaigns import figures, services
from campaigns.models import SCHEDULED
from extensions import db

campaigns_cli = AppGroup("campaigns", help="Write, test and send campaigns (issues of a list).")

CREATED_BY = "command line"


def _refusals_exit_1(command):
    """A CampaignError rolls back and exits 1 with its message; nothing half done stays."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except services.CampaignError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from error

    return wrapper


class IsoTime(click.ParamType):
    """An ISO-8601 time; without an offset it is taken as UTC."""

    name = "ISO-8601"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is not an ISO-8601 time, like 2030-01-31T07:00+02:00", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@campaigns_cli.command("create")
@click.option("--newsletter", "slug", required=True, help="The list's slug.")
@click.option("--subject", required=True, help="The subject line.")
@click.option(
    "--body",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="A Markdown file; - reads standard input.",
)
@_refusals_exit_1
def create_command(slug: str, subject: str, body: TextIO) -> None:
    """Write a draft; prints its id alone on the first line."""
    try:
        markdown = body.read()
    except UnicodeDecodeError as error:
        raise click.ClickException("The body is not UTF-8 text.") from error
    campaign = services.create_draft(slug, subject, markdown, CREATED_BY)
    db.session.commit()
    click.echo(campaign.id)
    click.echo(f"draft of {slug}: {campaign.subject}")


@campaigns_cli.command("test")
@click.argument("campaign_id", type=int)
@click.option("--to", "to", required=True, help="The one address to send the test to.")
@_refusals_exit_1
def test_command(campaign_id: int, to: str) -> None:
    """Send the campaign to one address, marked as a test."""
    address = services.send_test(campaign_id, to)
    db.session.commit()
    click.echo(f"test of campaign {campaign_id} queued for {address}")


@campaigns_cli.command("send")
@click.argument("campaign_id", type=int)
@click.option("--at", "at", type=IsoTime(), default=None, help="When to send (ISO-8601).")
@_refusals_exit_1
def send_command(campaign_id: int, at: datetime | None) -> None:
    """Send now, or at a time; prints how many readers it will reach. Again: changes nothing."""
    outcome = services.send(campaign_id, at)
    db.session.commit()
    campaign = outcome.campaign
    if campaign.status == SCHEDULED:
        when = f"{campaign.scheduled_at:%Y-%m-%d %H:%M} UTC"
        click.echo(f"scheduled for {when}: it would reach {outcome.readers} readers now")
    else:
        click.echo(f"{campaign.status}: it reaches {outcome.readers} readers")
    if not outcome.changed:
        click.echo("it was already under way: nothing changed")


@campaigns_cli.command("status")
@click.argument("campaign_id", type=int)
@_refusals_exit_1
def status_command(campaign_id: int) -> None:
    """Counts of queued, sent, failed and suppressed recipients."""
    campaign = services.get_campaign(campaign_id)
    progress = figures.progress(campaign)
    click.echo(f"campaign {campaign.id}: {campaign.status} · {campaign.subject}")
    click.echo(
        f"recipients {progress.recipients}: queued {progress.left}, sent {progress.sent}, "
        f"failed {progress.failed}, suppressed {progress.suppressed}, "
        f"cancelled {progress.cancelled}"
    )


def _change_command(name: str, change, done: str, help_text: str) -> None:
    @campaigns_cli.command(name, help=help_text)
    @click.argument("campaign_id", type=int)
    @_refusals_exit_1
    def command(campaign_id: int) -> None:
        campaign = change(campaign_id)
        db.session.commit()
        click.echo(f"campaign {campaign.id} {done}")


_change_command("pause", services.pause, "paused", "Hold the messages not yet sent.")
_change_command("resume", services.resume, "resumed", "Send the held messages again.")
_change_command("cancel", services.cancel, "cancelled", "Stop what is not yet sent.")
