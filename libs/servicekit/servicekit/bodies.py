"""Request bodies and query strings: read once, refused before any view when the database could not store
them (400 unreadable, 422 per field), and handed to webargs as read."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import BadRequest

from servicekit.problems import Problem, validation_problem

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def install_body_checks(app: Flask) -> None:
    _install_json_body_check(app)
    _install_body_check(app)


def _install_json_body_check(app: Flask) -> None:
    @app.before_request
    def _require_json() -> None:
        if request.routing_exception is not None or request.method not in BODY_METHODS:
            return
        has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        if has_body and not request.is_json:  # no body at all (a check-in, a cookie refresh) needs no type
            raise Problem(415, "The request body must be JSON (Content-Type: application/json).")


MAX_JSON_DEPTH = 64


class JSONProvider(DefaultJSONProvider):
    """Request bodies hold finite numbers only: NaN, Infinity and 1e400 are not JSON a client means. Responses
    are encoded by orjson (a page of 50 in a tenth of the standard library's time), keys in the order built;
    dates and times as ISO 8601, as the API writes every instant (Flask's encoder would write an HTTP date);
    what orjson cannot encode as Flask would (an integer past 64 bits echoed from a request) goes through
    Flask's encoder."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs and kwargs != _COMPACT:  # indented (debug) output: the standard encoder
            return super().dumps(obj, **kwargs)
        try:
            return orjson.dumps(obj, default=self.default, option=_AS_FLASK_WOULD).decode()
        except orjson.JSONEncodeError:
            return super().dumps(obj)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return json.loads(s, parse_constant=_refuse_constant, parse_float=_finite_float, **kwargs)


_COMPACT = {"separators": (",", ":")}  # what Flask's jsonify asks for outside debug mode
_AS_FLASK_WOULD = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


class BodyParser(FlaskParser):  # type: ignore[misc]
    """webargs reads the body Flask already parsed (and our checks passed), instead of parsing it again."""

    def _raw_load_json(self, req: Request) -> Any:
        if not req.is_json:
            return core.missing
        return req.get_json(silent=True) if req.get_data(cache=True) else core.missing


def read_json_body() -> Any:
    """The request's JSON body (None when there is none); a body we cannot read is 400."""
    if not request.is_json or not request.get_data(cache=True):
        return None
    try:
        body = request.get_json()
    except RecursionError:
        raise Problem(400, "The request body is nested too deeply.") from None
    except BadRequest:  # Flask's answer to any ValueError of the parser: syntax, encoding, digit limits
        raise Problem(400, "The request body is not valid JSON.") from None
    return body


def body_problems(body: Any) -> list[dict[str, Any]]:
    """Field errors for text PostgreSQL cannot store (NUL, lone UTF-16 surrogates). Raises 400 past
    MAX_JSON_DEPTH. Walks the value without recursion, so no depth the parser accepted can overflow."""
    errors: dict[str | None, str] = {}
    stack: list[tuple[Any, str | None, int]] = [(body, None, 0)]
    while stack:
        value, field, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise Problem(400, f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.")
        if isinstance(value, dict):
            for key, item in value.items():
                name = key if field is None else field
                stack.append((key, name, depth + 1))
                stack.append((item, name, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, field, depth + 1) for item in value)
        elif isinstance(value, str):
            message = _text_problem(value)
            if message:
                errors.setdefault(field, message)
    return [{"field": field, "message": message} for field, message in errors.items()]


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "Must not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text (no lone UTF-16 surrogates such as \\ud800)."
    return None


def _install_body_check(app: Flask) -> None:
    """Refuse what the database could not store, before any view: 400 unreadable, 422 per field."""

    @app.before_request
    def _check_input() -> None:
        if request.routing_exception is not None:
            return
        errors = [
            {"field": name, "message": message}
            for name, value in request.args.items(multi=True)
            if (message := _text_problem(name) or _text_problem(value))
        ]
        if request.method in BODY_METHODS:
            errors += body_problems(read_json_body())
        if errors:
            raise validation_problem(errors)
