"""`flask newsletters add SLUG --name NAME [--description TEXT] [--default]`."""

from __future__ import annotations

import re

import click
from flask.cli import AppGroup
from sqlalchemy import select

from extensions import db
from newsletters import services
from newsletters.models import Newsletter

newsletters_cli = AppGroup("newsletters", help="Manage newsletter lists.")


@newsletters_cli.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="The list's name as readers see it.")
@click.option("--description", default="", help="One or two sentences for the signup forms.")
@click.option("--default", "is_default", is_flag=True, help="Sign up to it when none is chosen.")
def add_command(slug: str, name: str, description: str, is_default: bool) -> None:
    """Add a newsletter list, or update the one with this SLUG (safe to run again)."""
    if not re.fullmatch(services.SLUG_PATTERN, slug):
        raise click.BadParameter("use lower-case letters, digits and dashes", param_hint="SLUG")
    created = services.add_list(slug, name, description, is_default)
    db.session.commit()
    click.echo(f"{'added' if created else 'updated'} newsletter {slug}")
    archived = db.session.scalar(select(Newsletter.archived).where(Newsletter.slug == slug))
    if archived:
        click.echo(f"{slug} is archived: readers do not see it until staff restore it")
