"""`flask newsletters add SLUG --name NAME [--description TEXT] [--default] [--members-only]`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from extensions import db
from newsletters.lists import InvalidList, add_list, is_archived, is_members_only

newsletters_cli = AppGroup("newsletters", help="Manage newsletter lists.")


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
