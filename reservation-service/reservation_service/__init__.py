"""The reservation service: bookings, kept free of double booking by PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from reservation_service.config import Settings
from reservation_service.users.access import install_user_check
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
            title="Reservation service",
            settings=settings.service,
            migrations_dir=MIGRATIONS_DIR,
            verifier=verifier,
            public_prefixes=("/calendar/feeds/",),  # the secret in the URL is the credential
            redacted_prefixes=("/calendar/feeds/",),
        ),
        __name__,
    )
    app.extensions["reservation_settings"] = settings
    install_user_check(app)
    from reservation_service.availability import views as availability_views
    from reservation_service.calendar import views as calendar_views
    from reservation_service.checkin import views as checkin_views
    from reservation_service.reservations import views as reservation_views
    from reservation_service.series import views as series_views

    api.register_blueprint(reservation_views.blp)
    api.register_blueprint(availability_views.blp)
    api.register_blueprint(series_views.blp)
    api.register_blueprint(checkin_views.blp)
    api.register_blueprint(calendar_views.blp)
    return app
