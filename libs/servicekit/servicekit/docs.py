"""Swagger UI pages with assets served by us (no CDN): a service's own document, or all three."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, make_response, render_template, send_from_directory
from flask.typing import ResponseReturnValue
from swagger_ui_bundle import swagger_ui_path

GATEWAY_DOCUMENTS = [
    {"name": "User service", "url": "/openapi/user.json"},
    {"name": "Room service", "url": "/openapi/room.json"},
    {"name": "Reservation service", "url": "/openapi/reservation.json"},
]


# Everything the page loads comes from us; Swagger UI sets inline styles and shows data: images.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)
TEMPLATES = Path(__file__).parent / "templates"


def _page(title: str, documents: list[dict[str, str]]) -> Response:
    response = make_response(render_template("swagger.html", title=title, documents=documents))
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


def docs_blueprint(title: str) -> Blueprint:
    blueprint = Blueprint("docs", __name__, template_folder="templates")

    @blueprint.get("/docs")
    def own_docs() -> ResponseReturnValue:
        """This service's API documentation."""
        return _page(title, [{"name": title, "url": "/openapi.json"}])

    @blueprint.get("/docs/gateway")
    def gateway_docs() -> ResponseReturnValue:
        """All three services' documentation, as the gateway publishes them."""
        return _page("Meeting Room Reservation System", GATEWAY_DOCUMENTS)

    @blueprint.get("/docs/assets/init.js")
    def init_script() -> ResponseReturnValue:
        return send_from_directory(str(TEMPLATES), "init.js", mimetype="text/javascript", max_age=3600)

    @blueprint.get("/docs/assets/<path:filename>")
    def assets(filename: str) -> ResponseReturnValue:
        return send_from_directory(str(swagger_ui_path), filename, max_age=86400)

    return blueprint
