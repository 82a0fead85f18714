"""`flask demo`: the lists, tiers and sent campaign a fresh `make run` shows."""

import click
from flask.cli import with_appcontext

from campaigns.demo import load_demo_campaign
from extensions import db
from membership.services import load_demo_tiers
from newsletters.lists import load_demo_lists
from payments.prices import new_price_id


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load demo lists, tiers and one sent campaign (safe to run again)."""
    load_demo_lists()
    load_demo_tiers(new_price=new_price_id)
    db.session.flush()
    load_demo_campaign()
    db.session.commit()
    click.echo("demo data loaded")
