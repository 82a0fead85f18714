"""`flask tiers add` and `flask members reconcile`: both may need Stripe, so they live here."""

from __future__ import annotations

import re
import time

import click
from flask.cli import AppGroup

from extensions import db
from membership.goal import (
    addresses_counted_more_than_once,
    count_members,
    forget_cached_progress,
    recount_members,
)
from membership.services import InvalidInput, add_tier
from payments.gateway import GatewayError
from payments.mode import simulated_mode
from payments.prices import new_price_id
from payments.reconcile import reconcile

tiers_cli = AppGroup("tiers", help="Manage membership tiers.")
members_cli = AppGroup("members", help="Membership maintenance.")
# Stripe takes at most eight digits of minor units for a price.
MAX_PRICE_AMOUNT = 99_999_999


def _price_id(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[A-Za-z0-9_]{1,255}", value):
        raise click.BadParameter(
            "a Stripe Price id looks like price_1Pgafm…", param_hint="--stripe-price"
        )
    return value


@tiers_cli.command("add")
@click.argument("slug")
@click.option("--name", required=True)
@click.option(
    "--amount",
    required=True,
    type=click.IntRange(min=1, max=MAX_PRICE_AMOUNT),
    help="Minor units (cents).",
)
@click.option("--currency", required=True)
@click.option("--interval", required=True, type=click.Choice(["month", "year"]))
@click.option(
    "--stripe-price",
    "stripe_price",
    default=None,
    type=click.STRING,
    callback=lambda _ctx, _param, value: _price_id(value),
    help="An existing Stripe Price id.",
)
def add_tier_command(slug, name, amount, currency, interval, stripe_price) -> None:
    """Add a membership tier (idempotent on SLUG)."""
    try:
        tier, created = add_tier(
            slug,
            name=name,
            amount=amount,
            currency=currency,
            interval=interval,
            stripe_price=stripe_price,
            new_price=new_price_id,
        )
    except InvalidInput as exc:
        hint = "SLUG" if exc.field == "slug" else f"--{exc.field}"
        raise click.BadParameter(exc.message, param_hint=hint) from exc
    except GatewayError as exc:
        raise click.ClickException(f"Could not create the price in Stripe: {exc}") from exc
    db.session.commit()
    verb = "added" if created else "already exists"
    click.echo(f"tier {tier.slug} {verb} (price {tier.stripe_price_id})")


@members_cli.command("reconcile")
def reconcile_command() -> None:
    """Compare local members with Stripe's subscriptions and repair what differs."""
    before = count_members()
    if simulated_mode():
        # No Stripe to compare with, but the stored counter can still be rebuilt from our rows.
        after = recount_members()
        forget_cached_progress()
        click.echo(
            f"simulated mode (no STRIPE_SECRET_KEY), nothing to compare with Stripe; "
            f"members {before} -> {after}"
        )
        _report_counted_more_than_once(addresses_counted_more_than_once())
        return
    try:
        report = reconcile(as_of=int(time.time()), echo=click.echo)
    except GatewayError as exc:
        db.session.rollback()
        raise click.ClickException(f"Stripe could not be reached: {exc}") from exc
    after = recount_members()  # also repairs the stored counter, whatever changed it
    forget_cached_progress()
    click.echo(
        f"checked {report.checked} subscriptions: {report.changed} changed, "
        f"{report.ignored} not ours; members {before} -> {after}"
    )
    _report_counted_more_than_once(report.counted_more_than_once)


def _report_counted_more_than_once(addresses: list[tuple[str, int]]) -> None:
    """Readers counted more than once: merging their customers is a decision for a person."""
    if not addresses:
        click.echo("no address is held by more than one member customer")
        return
    click.echo(f"{len(addresses)} address(es) held by more than one member customer:")
    for address, customers in addresses:
        click.echo(f"  {address}: {customers} customers count as members")
