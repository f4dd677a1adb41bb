"""The room service: the catalogue of meeting rooms."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from room_service.config import Settings
from servicekit.auth import jwks_verifier
from servicekit.web import ServiceApp, create_service_app

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    verifier = jwks_verifier(
        settings.jwks_url, issuer=settings.service.jwt_issuer, audience=settings.service.jwt_audience
    )
    app, api = create_service_app(
        ServiceApp(
            name=settings.service.service_name,
            title="Room service",
            settings=settings.service,
            migrations_dir=MIGRATIONS_DIR,
            verifier=verifier,
        ),
        __name__,
    )
    app.extensions["room_settings"] = settings
    from room_service.rooms import views as rooms_views

    api.register_blueprint(rooms_views.blp)
    return app
