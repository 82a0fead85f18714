"""`flask newsletters add SLUG --name NAME [--description TEXT] [--default]`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from extensions import db
from newsletters.lists import InvalidList, add_list, is_archived

newsletters_cli = AppGroup("newsletters", help="Manage newsletter lists.")


@newsletters_cli.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="The list's name as readers see it.")
@click.option("--description", default="", help="One or two sentences for the signup forms.")
@click.option("--default", "is_default", is_flag=True, help="Sign up to it when none is chosen.")
def add_command(slug: str, name: str, description: str, is_default: bool) -> None:
    """Add a newsletter list, or update the one with this SLUG (safe to run again)."""
    try:
        created = add_list(slug, name, description, is_default)
    except InvalidList as exc:
        hint = "SLUG" if exc.field == "slug" else f"--{exc.field}"
        raise click.BadParameter(exc.message, param_hint=hint) from exc
    db.session.commit()
    click.echo(f"{'added' if created else 'updated'} newsletter {slug}")
    if is_archived(slug):
        click.echo(f"{slug} is archived: readers do not see it until staff restore it")
