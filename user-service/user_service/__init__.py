"""The user service: identities, roles, sign-in, and the only issuer of access tokens."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from servicekit.auth import TokenVerifier
from servicekit.web import ServiceApp, create_service_app
from user_service.access import install_account_check
from user_service.config import Settings
from user_service.keys import SigningKeys
from user_service.signin.oauth import init_oauth
from user_service.tokens.service import TokenIssuer

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    keys = SigningKeys.from_pem(settings.signing_key_pem, settings.previous_public_keys_pem)
    verifier = TokenVerifier(keys, issuer=settings.service.jwt_issuer, audience=settings.service.jwt_audience)
    public = ("/auth/", "/.well-known/")
    app, api = create_service_app(
        ServiceApp("User service", settings.service, MIGRATIONS_DIR, verifier, public_prefixes=public), __name__
    )
    install_account_check(app)
    init_oauth(app, settings)
    app.extensions["signing_keys"] = keys
    app.extensions["user_settings"] = settings
    app.extensions["token_issuer"] = TokenIssuer(keys, settings)

    from user_service import keys_view
    from user_service.admin import views as admin_views
    from user_service.cli import users_cli
    from user_service.signin import views as signin_views
    from user_service.users import views as users_views

    for blueprint in (keys_view.blp, signin_views.blp, users_views.blp, admin_views.blp):
        api.register_blueprint(blueprint)
    app.cli.add_command(users_cli)
    return app
