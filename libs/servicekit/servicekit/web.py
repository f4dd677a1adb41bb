"""The common frame of each service's Flask app: proxy headers, request ids, logs, errors, docs, health, auth."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from types import FunctionType
from typing import Any

from flask import Flask, Response, current_app, request
from flask_smorest import Api
from werkzeug.middleware.proxy_fix import ProxyFix

from servicekit import openapi
from servicekit.auth import TokenVerifier, install_authentication, jwks_verifier
from servicekit.bodies import BodyParser, JSONProvider, install_body_checks
from servicekit.context import (
    clean_request_id,
    request_elapsed_s,
    request_id_var,
    start_request_timer,
    user_id_var,
)
from servicekit.converters import IdConverter
from servicekit.db import db
from servicekit.docs import docs_blueprint
from servicekit.health import register_health
from servicekit.metrics import install_metrics
from servicekit.problems import register_problem_handlers
from servicekit.schemas import ProblemSchema
from servicekit.settings import ApiSettings, ServiceSettings

log = logging.getLogger("servicekit.request")


class ServiceFlask(Flask):
    """Flask, with each hook and view's "is it a coroutine?" answered once: Flask asks it for every function it
    calls, thirteen times a request here (inspect.iscoroutinefunction is slow), and the answer never changes."""

    # Only functions registered once are remembered: a bound method may be new each request (a MethodView's).
    MAX_REMEMBERED = 4096

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        super().__init__(import_name, **kwargs)
        self._sync_forms: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if type(func) is not FunctionType:
            return super().ensure_sync(func)
        sync = self._sync_forms.get(func)
        if sync is None:
            sync = super().ensure_sync(func)
            if len(self._sync_forms) < self.MAX_REMEMBERED:
                self._sync_forms[func] = sync
        return sync


@dataclass
class ServiceApp:
    title: str
    settings: ServiceSettings | ApiSettings
    migrations_dir: Path
    # The user service verifies with its own keys; the others fetch the user service's (ApiSettings.jwks_url).
    verifier: TokenVerifier | None = None
    public_prefixes: Iterable[str] = ()
    # Paths whose rest is a credential (a calendar feed's secret): logged as the prefix and "[redacted]".
    redacted_prefixes: tuple[str, ...] = ()


def create_service_app(spec: ServiceApp, import_name: str) -> tuple[Flask, Api]:
    settings = spec.settings.service if isinstance(spec.settings, ApiSettings) else spec.settings
    verifier = spec.verifier or _jwks_verifier(spec.settings)
    app = ServiceFlask(import_name)
    app.json = JSONProvider(app)
    app.url_map.converters["id"] = IdConverter
    # One trusted proxy (the gateway) in front of us.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=settings.engine_options(),
        API_TITLE=spec.title,
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    db.init_app(app)
    api = ServiceApi(app, spec_kwargs={"servers": [{"url": "/"}]})
    openapi.install(api.spec, api.ma_plugin)
    api.register_converter(IdConverter, lambda _: {"type": "integer", "format": "int64", "minimum": 1})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    register_problem_handlers(app)
    _install_request_context(app, spec.redacted_prefixes)
    install_authentication(app, verifier, spec.public_prefixes)
    install_body_checks(app)
    register_health(app, spec.migrations_dir)
    install_metrics(app)
    app.register_blueprint(docs_blueprint(spec.title))
    return app, api


def _jwks_verifier(settings: ServiceSettings | ApiSettings) -> TokenVerifier:
    if not isinstance(settings, ApiSettings):
        raise TypeError("without a verifier of its own, a service needs ApiSettings (the JWKS URL)")
    service = settings.service
    return jwks_verifier(settings.jwks_url, issuer=service.jwt_issuer, audience=service.jwt_audience)


def loggable_path(path: str, redacted_prefixes: tuple[str, ...]) -> str:
    for prefix in redacted_prefixes:
        if path.startswith(prefix):
            return f"{prefix}[redacted]"
    return path


def _install_request_context(app: Flask, redacted_prefixes: tuple[str, ...] = ()) -> None:
    @app.before_request
    def _start() -> None:
        start_request_timer()
        user_id_var.set(None)
        request_id_var.set(clean_request_id(request.headers.get("X-Request-ID")))

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = request_id_var.get()
        if request_id:
            response.headers["X-Request-ID"] = request_id
        if request.path not in ("/healthz", "/readyz", "/metrics"):
            duration_ms = round((request_elapsed_s() or 0.0) * 1000, 2)
            level = logging.ERROR if response.status_code >= 500 else logging.INFO
            log.log(
                level,
                "request",
                extra={
                    "method": request.method,
                    "path": loggable_path(request.path, redacted_prefixes),
                    "route": request.url_rule.rule if request.url_rule is not None else None,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
        return response


class ServiceApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, minus its own error body: ours is problem+json."""

    ERROR_SCHEMA = ProblemSchema
    ARGUMENTS_PARSER = BodyParser()

    def _register_error_handlers(self) -> None:
        return None

    def _register_responses(self) -> None:
        """flask-smorest's shared error responses, as problem+json."""
        for status in HTTPStatus:
            if status >= 400:
                self.spec.components.response(status.name, openapi.problem_response(status.phrase), lazy=True)
        self.spec.components.response("DEFAULT_ERROR", openapi.problem_response("Default error response"), lazy=True)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A body our own code built in the documented shape, sent as is: flask-smorest passes a Response through
    without a second pass of the response schema (which, for a page of 50, costs more than the query)."""
    return Response(current_app.json.dumps(body), status=status, headers=headers, mimetype="application/json")
