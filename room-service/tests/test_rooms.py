from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

ROOM = {"name": "Conference Room A", "capacity": 10, "equipment": "Projector, Whiteboard"}


def create(client: FlaskClient, headers: dict[str, str], **fields: Any) -> Any:
    return client.post("/rooms", json={**ROOM, **fields}, headers=headers)


def test_admin_creates_room_with_location_and_normalised_equipment(client: FlaskClient, admin: dict[str, str]) -> None:
    response = create(client, admin, equipment="Projector, whiteboard ,projector,,  Video   Conf ")
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/rooms/{body['id']}"
    assert body["equipment"] == ["projector", "whiteboard", "video conf"]
    assert body["timezone"] == "UTC" and body["is_active"] is True
    assert client.get(response.headers["Location"], headers=admin).get_json() == body


def test_room_created_event_is_staged_in_the_outbox(
    client: FlaskClient, admin: dict[str, str], engine: sa.Engine
) -> None:
    room = create(client, admin, timezone="Europe/Berlin").get_json()
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT topic, key, event_type, payload, sent_at FROM outbox")).all()
    assert len(rows) == 1
    topic, key, event_type, payload, sent_at = rows[0]
    assert (topic, key, event_type, sent_at) == ("room_events", str(room["id"]), "room_created", None)
    assert payload["aggregate_id"] == room["id"] and payload["version"] == 1
    assert payload["producer"] == "room-service" and payload["schema_version"] == 1
    assert payload["data"]["timezone"] == "Europe/Berlin" and payload["data"]["name"] == ROOM["name"]


def test_employee_may_not_create_rooms(client: FlaskClient, employee: dict[str, str], engine: sa.Engine) -> None:
    response = create(client, employee)
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM rooms")) == 0


def test_without_token_is_401_with_bearer_challenge(client: FlaskClient) -> None:
    response = client.get("/rooms")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.get_json()["status"] == 401


def test_duplicate_name_is_409_case_insensitively(client: FlaskClient, admin: dict[str, str]) -> None:
    assert create(client, admin).status_code == 201
    response = create(client, admin, name="  conference room a ")
    assert response.status_code == 409
    assert response.get_json()["errors"][0]["field"] == "name"


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": 10001}, "capacity"),
        ({"capacity": "10"}, "capacity"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "   "}, "name"),
        ({"equipment": [1, 2]}, "equipment"),
        ({"is_active": "yes"}, "is_active"),
        ({"colour": "blue"}, "colour"),
        ({"name": "Nul\u0000Room"}, "name"),
        ({"building": "\u0000"}, "building"),
        ({"equipment": ["tv", "\u0000"]}, "equipment"),
    ],
)
def test_invalid_room_is_422_with_field_errors(
    client: FlaskClient, admin: dict[str, str], engine: sa.Engine, fields: dict[str, Any], bad_field: str
) -> None:
    response = create(client, admin, **fields)
    assert response.status_code == 422
    body = response.get_json()
    assert response.content_type == "application/problem+json"
    assert bad_field in [error["field"] for error in body["errors"]]
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM outbox")) == 0


def test_missing_required_fields_are_listed(client: FlaskClient, admin: dict[str, str]) -> None:
    response = client.post("/rooms", json={}, headers=admin)
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"name", "capacity"}


def test_list_is_paginated_in_id_order(client: FlaskClient, admin: dict[str, str], employee: dict[str, str]) -> None:
    for number in range(5):
        create(client, admin, name=f"Room {number}")
    create(client, admin, name="Closed", is_active=False)
    page = client.get("/rooms?page=2&per_page=2", headers=employee).get_json()
    assert page["total"] == 5 and page["page"] == 2 and page["per_page"] == 2
    assert [room["name"] for room in page["items"]] == ["Room 2", "Room 3"]
    inactive = client.get("/rooms?is_active=false", headers=employee).get_json()
    assert [room["name"] for room in inactive["items"]] == ["Closed"]


@pytest.mark.parametrize("query", ["per_page=abc", "per_page=0", "per_page=201", "page=0", "page=x"])
def test_bad_query_parameters_are_422(client: FlaskClient, employee: dict[str, str], query: str) -> None:
    response = client.get(f"/rooms?{query}", headers=employee)
    assert response.status_code == 422
    assert response.get_json()["errors"]


@pytest.mark.parametrize("path", ["/rooms/999", "/rooms/0", "/rooms/abc", "/rooms/99999999999999999999", "/rooms/-1"])
def test_missing_or_impossible_room_ids_are_404(client: FlaskClient, employee: dict[str, str], path: str) -> None:
    response = client.get(path, headers=employee)
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
