"""RFC 9457 problem details: the one error body of every service."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, json
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "/problems/"

log = logging.getLogger(__name__)


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem+json response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: Iterable[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.title = title or HTTPStatus(status).phrase
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extra = extra

    def to_response(self) -> Response:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug if self.slug else "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        response = Response(json.dumps(body), status=self.status, mimetype=PROBLEM_JSON)
        response.headers.update(self.headers)
        return response


def validation_problem(errors: list[dict[str, Any]], detail: str = "The request is not valid.") -> Problem:
    return Problem(422, detail, slug="validation-error", title="Validation failed", errors=errors)


def unauthorized(detail: str, *, token_given: bool) -> Problem:
    challenge = 'Bearer error="invalid_token"' if token_given else "Bearer"
    return Problem(401, detail, headers={"WWW-Authenticate": challenge})


def flatten_messages(messages: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Turn marshmallow's nested error dict into a flat [{field, message}] list."""
    if isinstance(messages, Mapping):
        out: list[dict[str, Any]] = []
        for key, value in messages.items():
            name = "" if key == "_schema" else str(key)
            out.extend(flatten_messages(value, f"{prefix}.{name}" if prefix and name else prefix or name))
        return out
    if isinstance(messages, list | tuple):
        if all(isinstance(item, str) for item in messages):
            return [{"field": prefix or None, "message": item} for item in messages]
        out = []
        for item in messages:
            out.extend(flatten_messages(item, prefix))
        return out
    return [{"field": prefix or None, "message": str(messages)}]


def _validation_errors(error: HTTPException) -> list[dict[str, Any]] | None:
    data = getattr(error, "data", None)
    if not isinstance(data, Mapping) or "messages" not in data:
        return None
    # webargs keys messages by location ("json", "query"); the location is not part of the field name.
    errors: list[dict[str, Any]] = []
    for location_messages in data["messages"].values():
        errors.extend(flatten_messages(location_messages))
    return errors


def http_exception_problem(error: HTTPException) -> Problem:
    status = error.code or 500
    errors = _validation_errors(error)
    if errors is not None and status == 422:
        return validation_problem(errors)
    detail = error.description or HTTPStatus(status).description
    headers = {}
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(sorted(valid_methods))
    if status == 400 and errors is not None:
        detail = "The request body is not valid JSON."
    return Problem(status, detail, headers=headers)


def register_problem_handlers(app: Flask) -> None:
    """Every error leaves as problem+json: ours, Werkzeug's, and unexpected ones."""

    @app.errorhandler(Problem)
    def _problem(problem: Problem) -> Response:
        return problem.to_response()

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        return http_exception_problem(error).to_response()

    @app.errorhandler(OperationalError)
    def _database_down(error: OperationalError) -> Response:
        log.error("database unavailable", exc_info=error)
        return Problem(503, "The database is unavailable; retry shortly.", headers={"Retry-After": "5"}).to_response()

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.error("unhandled exception", exc_info=error)
        return Problem(500, "An unexpected error occurred.").to_response()
