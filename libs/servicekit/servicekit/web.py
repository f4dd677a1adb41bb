"""The common frame of each service's Flask app: proxy headers, request ids, logs, errors, docs, health, auth."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request
from flask_smorest import Api
from werkzeug.middleware.proxy_fix import ProxyFix

from servicekit import openapi
from servicekit.auth import TokenVerifier, install_authentication
from servicekit.context import clean_request_id, request_id_var, user_id_var
from servicekit.converters import IdConverter
from servicekit.db import db
from servicekit.docs import docs_blueprint
from servicekit.health import register_health
from servicekit.metrics import install_metrics
from servicekit.openapi import SchemaRulesPlugin
from servicekit.problems import Problem, register_problem_handlers, validation_problem
from servicekit.schemas import ProblemSchema
from servicekit.settings import ServiceSettings

log = logging.getLogger("servicekit.request")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class ServiceApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, minus its own error body: ours is problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        return None


@dataclass
class ServiceApp:
    name: str
    title: str
    settings: ServiceSettings
    migrations_dir: Path
    verifier: TokenVerifier
    public_prefixes: Iterable[str] = ()
    extra_config: dict[str, Any] = field(default_factory=dict)


def create_service_app(spec: ServiceApp, import_name: str) -> tuple[Flask, Api]:
    app = Flask(import_name)
    app.url_map.converters["id"] = IdConverter
    # One trusted proxy (the gateway) in front of us.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]
    app.config.update(
        SQLALCHEMY_DATABASE_URI=spec.settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=spec.settings.engine_options(),
        API_TITLE=spec.title,
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        **spec.extra_config,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    db.init_app(app)
    api = ServiceApi(app, spec_kwargs={"servers": [{"url": "/"}]})
    schema_rules = SchemaRulesPlugin()
    schema_rules.init_spec(api.spec)
    api.spec.plugins = [*api.spec.plugins, schema_rules]
    openapi.install(app)
    api.register_converter(IdConverter, lambda _: {"type": "integer", "format": "int64", "minimum": 1})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    register_problem_handlers(app)
    _install_request_context(app)
    install_authentication(app, spec.verifier, spec.public_prefixes)
    _install_json_body_check(app)
    _install_nul_check(app)
    register_health(app, spec.migrations_dir)
    install_metrics(app)
    app.register_blueprint(docs_blueprint(spec.title))
    return app, api


def _install_request_context(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        user_id_var.set(None)
        request_id_var.set(clean_request_id(request.headers.get("X-Request-ID")))

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = request_id_var.get()
        if request_id:
            response.headers["X-Request-ID"] = request_id
        if request.path not in ("/healthz", "/readyz", "/metrics"):
            duration_ms = round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2)
            level = logging.ERROR if response.status_code >= 500 else logging.INFO
            log.log(
                level,
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
        return response


def _install_json_body_check(app: Flask) -> None:
    @app.before_request
    def _require_json() -> None:
        if request.routing_exception is not None or request.method not in BODY_METHODS:
            return
        if not request.is_json:
            raise Problem(415, "The request body must be JSON (Content-Type: application/json).")


def _contains_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def _install_nul_check(app: Flask) -> None:
    """PostgreSQL text cannot hold NUL characters: refuse them as bad input instead of failing at the database."""

    @app.before_request
    def _refuse_nul() -> None:
        if request.routing_exception is not None:
            return
        for name, value in request.args.items(multi=True):
            if "\x00" in name or "\x00" in value:
                raise validation_problem([{"field": name, "message": "Must not contain NUL characters."}])
        body = request.get_json(silent=True) if request.is_json else None
        if isinstance(body, dict):
            fields = [key for key, value in body.items() if _contains_nul(key) or _contains_nul(value)]
        else:
            fields = [None] if _contains_nul(body) else []
        if fields:
            raise validation_problem(
                [{"field": field, "message": "Must not contain NUL characters."} for field in fields]
            )
