"""PUT and PATCH /rooms/{id}: partial bodies, validation, names, versions and room_updated events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

MakeRoom = Callable[..., dict[str, Any]]
ReadOutbox = Callable[..., list[dict[str, Any]]]
METHODS = ["put", "patch"]

ROOM = {
    "name": "Board Room",
    "capacity": 10,
    "equipment": ["projector", "whiteboard"],
    "building": "HQ",
    "floor": "3",
    "description": "Corner room",
    "timezone": "Europe/Berlin",
    "is_active": True,
}


def send(client: FlaskClient, method: str, room_id: int, body: Any, headers: dict[str, str]) -> Any:
    return getattr(client, method)(f"/rooms/{room_id}", json=body, headers=headers)


@pytest.mark.parametrize("method", METHODS)
def test_partial_body_changes_only_what_it_names(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, outbox: ReadOutbox, method: str
) -> None:
    room = make_room(**ROOM)
    response = send(client, method, room["id"], {"capacity": 6, "floor": "B1"}, admin)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body == {**room, "capacity": 6, "floor": "B1", "updated_at": body["updated_at"]}
    assert body["updated_at"] > room["updated_at"]
    assert client.get(f"/rooms/{room['id']}", headers=admin).get_json() == body
    [event] = outbox("room_updated")
    assert event["aggregate_id"] == room["id"] and event["version"] == 2
    assert event["producer"] == "room-service" and event["schema_version"] == 1
    assert event["data"] == body


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("equipment", "stored"),
    [
        (["Video Conf", " TV ", "tv"], ["video conf", "tv"]),
        ("Video Conf,  TV ,tv", ["video conf", "tv"]),
        ("", []),
        ([], []),
    ],
)
def test_equipment_as_list_or_comma_string(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, method: str, equipment: Any, stored: list[str]
) -> None:
    room = make_room(**ROOM)
    response = send(client, method, room["id"], {"equipment": equipment}, admin)
    assert response.status_code == 200
    assert response.get_json()["equipment"] == stored


def test_every_writable_field_can_change_and_nullable_ones_can_be_cleared(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, outbox: ReadOutbox
) -> None:
    room = make_room(**ROOM)
    changes = {
        "name": "  Renamed  ",
        "capacity": 10000,
        "equipment": "tv",
        "building": None,
        "floor": None,
        "description": None,
        "timezone": "America/New_York",
        "is_active": False,
    }
    body = send(client, "put", room["id"], changes, admin).get_json()
    assert body == {**room, **changes, "name": "Renamed", "equipment": ["tv"], "updated_at": body["updated_at"]}
    assert outbox("room_updated")[0]["data"] == body


@pytest.mark.parametrize("method", METHODS)
def test_setting_the_current_values_changes_nothing_and_emits_nothing(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, outbox: ReadOutbox, method: str
) -> None:
    room = make_room(**ROOM)
    same = {**ROOM, "name": " Board Room ", "equipment": "Projector, WHITEBOARD"}
    response = send(client, method, room["id"], same, admin)
    assert response.status_code == 200
    assert response.get_json() == room
    assert outbox("room_updated") == []
    # The next real change is version 2: the no-op bumped nothing.
    send(client, method, room["id"], {"is_active": False}, admin)
    assert [event["version"] for event in outbox("room_updated")] == [2]


def test_each_change_is_one_event_with_the_next_version(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, outbox: ReadOutbox
) -> None:
    room = make_room(**ROOM)
    for capacity in (5, 6, 6, 7):
        send(client, "patch", room["id"], {"capacity": capacity}, admin)
    events = outbox()
    assert [(e["event_type"], e["version"]) for e in events] == [
        ("room_created", 1),
        ("room_updated", 2),
        ("room_updated", 3),
        ("room_updated", 4),
    ]
    assert [e["data"]["capacity"] for e in events] == [10, 5, 6, 7]
    assert {e["aggregate_id"] for e in events} == {room["id"]}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("taken", ["Board Room", "board room", "  BOARD ROOM "])
def test_renaming_to_another_rooms_name_is_409_in_any_case(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, outbox: ReadOutbox, method: str, taken: str
) -> None:
    make_room(**ROOM)
    other = make_room(name="Annex")
    response = send(client, method, other["id"], {"name": taken, "capacity": 3}, admin)
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == "name"
    assert client.get(f"/rooms/{other['id']}", headers=admin).get_json() == other
    assert outbox("room_updated") == []


def test_renaming_to_its_own_name_in_another_case_is_fine(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, outbox: ReadOutbox
) -> None:
    room = make_room(**ROOM)
    response = send(client, "put", room["id"], {"name": "BOARD room"}, admin)
    assert response.status_code == 200
    assert response.get_json()["name"] == "BOARD room"
    assert [event["data"]["name"] for event in outbox("room_updated")] == ["BOARD room"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, [None]),
        ({"colour": "blue"}, ["colour"]),
        ({"capacity": 5, "version": 9}, ["version"]),
        ({"id": 99}, ["id"]),
        ({"capacity": 5, "created_at": "2020-01-01T00:00:00+00:00"}, ["created_at"]),
        ({"updated_at": None}, ["updated_at"]),
        ({"capacity": 0}, ["capacity"]),
        ({"capacity": 10001}, ["capacity"]),
        ({"capacity": "10"}, ["capacity"]),
        ({"capacity": None}, ["capacity"]),
        ({"name": "   "}, ["name"]),
        ({"name": None}, ["name"]),
        ({"name": "x" * 201}, ["name"]),
        ({"timezone": "Mars/Olympus"}, ["timezone"]),
        ({"timezone": None}, ["timezone"]),
        ({"equipment": [1, 2]}, ["equipment"]),
        ({"equipment": None}, ["equipment"]),
        ({"equipment": ["x" * 101]}, ["equipment"]),
        ({"is_active": "yes"}, ["is_active"]),
        ({"is_active": None}, ["is_active"]),
        ({"floor": "x" * 51, "building": 7}, ["floor", "building"]),
        ({"name": "Nul\u0000Room", "description": "\u0000"}, ["name", "description"]),
        ({"equipment": "tv, a\u0000b"}, ["equipment"]),
        ([{"capacity": 5}], [None]),
        ("capacity", [None]),
    ],
)
def test_invalid_bodies_are_422_with_field_errors_and_change_nothing(
    client: FlaskClient,
    admin: dict[str, str],
    make_room: MakeRoom,
    outbox: ReadOutbox,
    method: str,
    body: Any,
    fields: list[str | None],
) -> None:
    room = make_room(**ROOM)
    response = send(client, method, room["id"], body, admin)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert sorted(error["field"] or "" for error in response.get_json()["errors"]) == sorted(f or "" for f in fields)
    assert client.get(f"/rooms/{room['id']}", headers=admin).get_json() == room
    assert outbox("room_updated") == []


@pytest.mark.parametrize("method", METHODS)
def test_empty_body_says_there_is_nothing_to_update(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, method: str
) -> None:
    room = make_room()
    [error] = send(client, method, room["id"], {}, admin).get_json()["errors"]
    assert error["message"].startswith("Nothing to update")


@pytest.mark.parametrize("field", ["id", "created_at", "updated_at"])
def test_read_only_fields_are_named_as_such(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, field: str
) -> None:
    room = make_room()
    [error] = send(client, "patch", room["id"], {field: room[field]}, admin).get_json()["errors"]
    assert error == {"field": field, "message": "Read-only field; it cannot be set."}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("room_id", ["987654", "0", "abc", "-1", "9223372036854775808", "99999999999999999999"])
def test_missing_or_impossible_room_is_404(
    client: FlaskClient, admin: dict[str, str], method: str, room_id: str
) -> None:
    response = getattr(client, method)(f"/rooms/{room_id}", json={"capacity": 3}, headers=admin)
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize("method", METHODS)
def test_body_must_be_json(client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, method: str) -> None:
    room = make_room()
    not_json = getattr(client, method)(f"/rooms/{room['id']}", data="capacity=3", headers=admin)
    assert not_json.status_code == 415
    malformed = getattr(client, method)(
        f"/rooms/{room['id']}", data="{capacity", headers={**admin, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.content_type == "application/problem+json"
