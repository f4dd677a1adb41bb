"""The service's OpenAPI document lists every route, parameter, body and problem answer the tests exercise."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

OPERATIONS = {
    ("/rooms", "get"): ("200", {"401", "422"}),
    ("/rooms", "post"): ("201", {"400", "401", "403", "409", "415", "422"}),
    ("/rooms/{room_id}", "get"): ("200", {"401", "404"}),
    ("/rooms/{room_id}", "put"): ("200", {"400", "401", "403", "404", "409", "415", "422"}),
    ("/rooms/{room_id}", "patch"): ("200", {"400", "401", "403", "404", "409", "415", "422"}),
    ("/rooms/{room_id}", "delete"): ("204", {"401", "403", "404"}),
}
BODIES = {
    ("/rooms", "post"): "RoomCreate",
    ("/rooms/{room_id}", "put"): "RoomUpdate",
    ("/rooms/{room_id}", "patch"): "RoomUpdate",
}


@pytest.fixture(scope="module")
def spec(client: FlaskClient) -> dict[str, Any]:
    return client.get("/openapi.json").get_json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def client(app: Any) -> FlaskClient:  # module-scoped: the document does not change between tests
    return app.test_client()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("path", "method"), list(OPERATIONS))
def test_every_operation_documents_its_success_and_problems(spec: dict[str, Any], path: str, method: str) -> None:
    success, problems = OPERATIONS[(path, method)]
    operation = spec["paths"][path][method]
    assert operation["summary"]
    assert success in operation["responses"]
    assert "401" in operation["responses"]  # documented for every operation needing a token
    for status in problems - {"401"}:
        content = operation["responses"][status]["content"]
        assert content["application/problem+json"]["schema"]["$ref"] == "#/components/schemas/Problem", status
    body = BODIES.get((path, method))
    if body:
        assert (
            operation["requestBody"]["content"]["application/json"]["schema"]["$ref"] == f"#/components/schemas/{body}"
        )
    else:
        assert "requestBody" not in operation


def test_documented_operations_are_exactly_the_routes(spec: dict[str, Any]) -> None:
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops if method != "parameters"}
    assert documented == set(OPERATIONS)


def test_list_filters_are_documented(spec: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in spec["paths"]["/rooms"]["get"]["parameters"]}
    assert set(parameters) == {"page", "per_page", "min_capacity", "equipment", "building", "floor", "q", "is_active"}
    assert all(p["in"] == "query" and not p["required"] for p in parameters.values())
    assert parameters["min_capacity"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 10000}
    assert parameters["per_page"]["schema"]["maximum"] == 200
    assert parameters["is_active"]["schema"] == {"type": "boolean", "default": True}
    assert parameters["equipment"]["schema"]["type"] == "string"
    assert parameters["floor"]["schema"]["type"] == "string"


def test_update_body_names_the_writable_and_the_read_only_fields(spec: dict[str, Any]) -> None:
    schema = spec["components"]["schemas"]["RoomUpdate"]
    assert "required" not in schema and schema["additionalProperties"] is False
    read_only = {name for name, prop in schema["properties"].items() if prop.get("readOnly")}
    assert read_only == {"id", "created_at", "updated_at"}
    writable = set(schema["properties"]) - read_only
    assert writable == {
        "name",
        "capacity",
        "equipment",
        "building",
        "floor",
        "description",
        "timezone",
        "is_active",
        "max_days_ahead",
        "max_duration_minutes",
        "buffer_minutes",
        "opening_hours",
        "requires_check_in",
        "check_in_minutes",
    }
    assert schema["properties"]["opening_hours"]["properties"]["mon"]["type"] == "array"
    assert schema["properties"]["buffer_minutes"] == {"type": "integer", "minimum": 0, "maximum": 240}
    assert schema["properties"]["equipment"]["oneOf"] == [
        {"type": "array", "items": {"type": "string"}},
        {"type": "string"},
    ]
