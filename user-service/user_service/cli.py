"""Operator commands: `flask --app user_service users token EMAIL --role ROLE`, `... users promote EMAIL`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from servicekit.auth import Principal
from servicekit.db import current_session
from user_service.users import service
from user_service.users.models import ROLES

users_cli = AppGroup("users", help="Manage users and mint operator tokens.")


@users_cli.command("token")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="employee", show_default=True)
def token(email: str, role: str) -> None:
    """Create EMAIL if missing, set its role, and print an access token for it."""
    user = service.ensure_user(current_session(), email=email, role=role)
    current_session().commit()
    settings = current_app.extensions["user_settings"]
    principal = Principal(user_id=user.id, email=user.email, name=user.name, role=user.role)
    click.echo(
        current_app.extensions["signing_keys"].mint_access_token(
            principal,
            issuer=settings.service.jwt_issuer,
            audience=settings.service.jwt_audience,
            ttl_s=settings.access_token_ttl_s,
        )
    )


@users_cli.command("promote")
@click.argument("email")
def promote(email: str) -> None:
    """Make EMAIL an admin (creating the user if it has never signed in)."""
    user = service.ensure_user(current_session(), email=email, role="admin")
    current_session().commit()
    click.echo(f"{user.email} is an admin (user {user.id})")
