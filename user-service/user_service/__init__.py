"""The user service: identities, roles, and the only issuer of access tokens."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from servicekit.auth import TokenVerifier
from servicekit.web import ServiceApp, create_service_app
from user_service.config import Settings
from user_service.keys import SigningKeys

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    keys = SigningKeys.from_pem(settings.signing_key_pem, settings.previous_public_keys_pem)
    verifier = TokenVerifier(keys, issuer=settings.service.jwt_issuer, audience=settings.service.jwt_audience)
    app, api = create_service_app(
        ServiceApp(
            name=settings.service.service_name,
            title="User service",
            settings=settings.service,
            migrations_dir=MIGRATIONS_DIR,
            verifier=verifier,
            public_prefixes=("/auth/", "/.well-known/"),
        ),
        __name__,
    )
    app.extensions["signing_keys"] = keys
    app.extensions["user_settings"] = settings

    from user_service import keys_view
    from user_service.cli import users_cli
    from user_service.users import views as users_views

    api.register_blueprint(keys_view.blp)
    api.register_blueprint(users_views.blp)
    app.cli.add_command(users_cli)
    return app
