"""`flask demo`: the lists and tiers a fresh `make run` shows."""

import click
from flask.cli import with_appcontext

from membership.services import load_demo_tiers


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load demo lists and tiers (safe to run again)."""
    load_demo_tiers()
    click.echo("demo data loaded")
