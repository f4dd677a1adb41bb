"""Swagger UI pages with assets served by us (no CDN): a service's own document, or all three."""

from __future__ import annotations

from flask import Blueprint, render_template, send_from_directory
from flask.typing import ResponseReturnValue
from swagger_ui_bundle import swagger_ui_path

GATEWAY_DOCUMENTS = [
    {"name": "User service", "url": "/openapi/user.json"},
    {"name": "Room service", "url": "/openapi/room.json"},
    {"name": "Reservation service", "url": "/openapi/reservation.json"},
]


def docs_blueprint(title: str) -> Blueprint:
    blueprint = Blueprint("docs", __name__, template_folder="templates")

    @blueprint.get("/docs")
    def own_docs() -> ResponseReturnValue:
        """This service's API documentation."""
        return render_template("swagger.html", title=title, documents=[{"name": title, "url": "/openapi.json"}])

    @blueprint.get("/docs/gateway")
    def gateway_docs() -> ResponseReturnValue:
        """All three services' documentation, as the gateway publishes them."""
        return render_template("swagger.html", title="Meeting Room Reservation System", documents=GATEWAY_DOCUMENTS)

    @blueprint.get("/docs/assets/<path:filename>")
    def assets(filename: str) -> ResponseReturnValue:
        return send_from_directory(str(swagger_ui_path), filename, max_age=86400)

    return blueprint
