"""The room service: the catalogue of meeting rooms."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from room_service.config import Settings
from servicekit.web import ServiceApp, create_service_app

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app, api = create_service_app(ServiceApp("Room service", settings, MIGRATIONS_DIR), __name__)
    app.extensions["room_settings"] = settings
    from room_service.rooms import views

    api.register_blueprint(views.blp)
    return app
