"""`flask maintenance purge`: apply the retention periods now."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from privacy.retention import purge

maintenance_cli = AppGroup("maintenance", help="Keep the data within its retention periods.")


@maintenance_cli.command("purge")
def purge_command() -> None:
    """Delete never-confirmed signups and old mail's contents past their retention periods
    (`outbox work` also does this once a day)."""
    config = current_app.config
    click.echo(
        f"Retention: never-confirmed signups {config['PENDING_RETENTION_DAYS']} days,"
        f" finished mail {config['OUTBOX_RETENTION_DAYS']} days."
    )
    purged = purge()
    click.echo(f"never-confirmed subscribers deleted: {purged.unconfirmed_subscribers}")
    click.echo(f"their consent records deleted: {purged.consent_records}")
    click.echo(f"old messages cleared (contents and recipient): {purged.mail_cleared}")
