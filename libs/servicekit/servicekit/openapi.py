"""The OpenAPI document says what the service really does, decided as each route is registered: problem+json
errors, the 401/400/415 every route can answer, strings without NUL characters, non-empty partial updates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from apispec import APISpec, BasePlugin
from flask_smorest import Blueprint

from servicekit.problems import PROBLEM_JSON
from servicekit.schemas import ProblemSchema

NO_NUL = "^[^\\u0000]*$"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# What a status means when a route says nothing more particular.
DEFAULT_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "No access token, or not a valid one.",
    403: "The caller is not an admin.",
    404: "No such resource.",
    415: "The body is not JSON (`Content-Type: application/json`).",
    422: "Invalid fields or query parameters, listed in `errors`.",
}
BODY_ERRORS = (400, 415)

Answer = int | tuple[int, str]


class ProblemBlueprint(Blueprint):  # type: ignore[misc]
    """A flask-smorest blueprint whose routes document their problem+json answers where they are declared:
    `@blp.problems(404, (409, "Overlaps confirmed reservations."))`."""

    def __init__(self, *args: Any, descriptions: dict[int, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.descriptions = {**DEFAULT_DESCRIPTIONS, **(descriptions or {})}

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """As flask-smorest's, with a schema class made an instance once, here: webargs would otherwise build a
        new one, deep-copying its fields, for every request."""
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)  # type: ignore[no-any-return]

    def problems(self, *answers: Answer) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            for answer in answers:
                status, description = answer if isinstance(answer, tuple) else (answer, self.descriptions[answer])
                view = self.alt_response(
                    status, schema=ProblemSchema, content_type=PROBLEM_JSON, description=description
                )(view)
            return view

        return decorate


class ProblemDocsPlugin(BasePlugin):  # type: ignore[misc]
    """Runs after flask-smorest's and marshmallow's plugins, on each route as it is registered."""

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        spec.components.schema("Problem", schema=ProblemSchema)

    def schema_helper(self, name: str, definition: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        """A schema class's `min_properties` (partial updates need at least one field)."""
        schema = kwargs.get("schema")
        minimum = getattr(schema, "min_properties", None) if schema is not None else None
        return {"minProperties": minimum} if minimum else None

    def path_helper(
        self,
        path: str | None = None,
        operations: dict[Any, Any] | None = None,
        parameters: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        for parameter in parameters or []:
            _no_nul(parameter.get("schema", {}))

    def operation_helper(
        self, path: str | None = None, operations: dict[Any, Any] | None = None, **kwargs: Any
    ) -> None:
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            if operation.get("security") != []:
                responses.setdefault("401", {"description": DEFAULT_DESCRIPTIONS[401]})
            if "requestBody" in operation:
                for status in BODY_ERRORS:
                    responses.setdefault(str(status), {"description": DEFAULT_DESCRIPTIONS[status]})
            for status, response in responses.items():
                if isinstance(response, dict):
                    _problem_content(str(status), response)
            for parameter in operation.get("parameters", []):
                if isinstance(parameter, dict):
                    _no_nul(parameter.get("schema", {}))


def install(spec: APISpec, ma_plugin: Any) -> None:
    ma_plugin.converter.add_attribute_function(_no_nul_property)
    plugin = ProblemDocsPlugin()
    plugin.init_spec(spec)
    spec.plugins = [*spec.plugins, plugin]


def problem_response(description: str) -> dict[str, Any]:
    """A shared response component for an error status: problem+json."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def _problem_content(status: str, response: dict[str, Any]) -> None:
    if "$ref" in response or not (status == "default" or status >= "400"):
        return
    content = response.setdefault("content", {})
    schema = content.pop("application/json", {}).get("schema", PROBLEM_REF)
    content.setdefault(PROBLEM_JSON, {"schema": schema})


def _is_free_text(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" and not {"pattern", "format", "enum"} & schema.keys()


def _no_nul(schema: dict[str, Any]) -> None:
    if _is_free_text(schema):
        schema["pattern"] = NO_NUL


def _no_nul_property(converter: Any, field: ma.fields.Field[Any], ret: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {"pattern": NO_NUL} if _is_free_text(ret) else {}
