"""The OpenAPI document says what the service really does: problem+json errors, the 401/400/415 every
route can answer, strings without NUL characters, and non-empty partial updates."""

from __future__ import annotations

import json
from typing import Any

from apispec import BasePlugin
from flask import Flask, Response, request

PROBLEM_JSON = "application/problem+json"
NO_NUL = "^[^\\u0000]*$"
GENERIC_ERRORS = {
    "400": "The body is not valid JSON.",
    "415": "The body is not JSON (`Content-Type: application/json`).",
}


class SchemaRulesPlugin(BasePlugin):  # type: ignore[misc]
    """Carries a schema class's `min_properties` (partial updates need at least one field) into the document."""

    def schema_helper(self, name: str, definition: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        schema = kwargs.get("schema")
        minimum = getattr(schema, "min_properties", None) if schema is not None else None
        return {"minProperties": minimum} if minimum else None


def refine(spec: dict[str, Any]) -> dict[str, Any]:
    for path_item in spec.get("paths", {}).values():
        for method, operation in path_item.items():
            if method != "parameters" and isinstance(operation, dict):
                _refine_operation(operation)
    for status, response in spec.get("components", {}).get("responses", {}).items():
        _problem_content(status, response)
    for schema in spec.get("components", {}).get("schemas", {}).values():
        for prop in schema.get("properties", {}).values():
            _no_nul(prop)
            _no_nul(prop.get("items", {}))
    return spec


def _refine_operation(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if operation.get("security") != []:
        responses.setdefault("401", {"description": "No access token, or not a valid one."})
    if "requestBody" in operation:
        for status, description in GENERIC_ERRORS.items():
            responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        _problem_content(status, response)
    for parameter in operation.get("parameters", []):
        _no_nul(parameter.get("schema", {}))


def _problem_content(status: str, response: dict[str, Any]) -> None:
    if "$ref" in response or not (status == "default" or str(status) >= "400"):
        return
    content = response.setdefault("content", {})
    schema = content.pop("application/json", {}).get("schema", {"$ref": "#/components/schemas/Problem"})
    content.setdefault(PROBLEM_JSON, {"schema": schema})


def _no_nul(schema: dict[str, Any]) -> None:
    if schema.get("type") == "string" and not {"pattern", "format", "enum"} & schema.keys():
        schema["pattern"] = NO_NUL


def install(app: Flask, json_path: str = "/openapi.json") -> None:
    @app.after_request
    def _refined(response: Response) -> Response:
        if request.path == json_path and response.status_code == 200 and response.is_json:
            response.set_data(json.dumps(refine(response.get_json())))
        return response
