"""Operator commands: `flask --app user_service users token EMAIL --role ROLE`, `... users promote EMAIL`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from servicekit.auth import ROLES
from servicekit.db import current_session
from user_service.users import service

users_cli = AppGroup("users", help="Manage users and mint operator tokens.")


@users_cli.command("token")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="employee", show_default=True)
def token(email: str, role: str) -> None:
    """Create EMAIL if missing, set its role, and print an access token for it."""
    session = current_session()
    user = service.ensure_user(session=session, email=email, role=role)
    session.commit()
    click.echo(current_app.extensions["token_issuer"].access_token(user))


@users_cli.command("promote")
@click.argument("email")
def promote(email: str) -> None:
    """Make EMAIL an admin (creating the user if it has never signed in)."""
    user = service.ensure_user(session=current_session(), email=email, role="admin")
    current_session().commit()
    click.echo(f"{user.email} is an admin (user {user.id})")
