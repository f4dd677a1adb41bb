"""The reservation service: bookings, kept free of double booking by PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from reservation_service.access import install_user_check
from reservation_service.config import Settings
from servicekit.web import ServiceApp, create_service_app

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    feeds = ("/calendar/feeds/",)  # the secret in a feed's URL is its credential: public, and never logged
    service = ServiceApp(
        "Reservation service", settings, MIGRATIONS_DIR, public_prefixes=feeds, redacted_prefixes=feeds
    )
    app, api = create_service_app(service, __name__)
    app.extensions["reservation_settings"] = settings
    install_user_check(app)
    from reservation_service.availability import views as availability
    from reservation_service.calendar import views as calendar
    from reservation_service.checkin import views as checkin
    from reservation_service.reservations import views as reservations
    from reservation_service.series import views as series

    for module in (reservations, availability, series, checkin, calendar):
        api.register_blueprint(module.blp)
    return app
