"""`flask staff create EMAIL [--role admin|editor] [--password-stdin]`."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

from extensions import db
from staff.audit_trail import record_action
from staff.auth import StaffAccountError, create_staff_user
from staff.models import EDITOR, ROLES

staff_cli = AppGroup("staff", help="Manage staff accounts.")


@staff_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default=EDITOR, show_default=True)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting.",
)
def create_command(email: str, role: str, password_stdin: bool) -> None:
    """Add a staff account (editors read everything; admins also change settings and export)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_staff_user(email, password, role)
        db.session.flush()
        record_action("staff_created", f"{user.email} as {role} (command line)", user.id)
        db.session.commit()
    except StaffAccountError as error:
        db.session.rollback()
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    except IntegrityError:
        db.session.rollback()
        click.echo(f"Error: a staff account for {email.strip()} already exists.", err=True)
        sys.exit(1)
    click.echo(f"Created {role} account {user.email}.")
