"""DELETE /rooms/{id}: gone from the catalogue, name free again, room_deleted with the last state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

MakeRoom = Callable[..., dict[str, Any]]
ReadOutbox = Callable[..., list[dict[str, Any]]]


def test_deleted_room_is_gone_and_its_name_is_free(
    client: FlaskClient, admin: dict[str, str], employee: dict[str, str], make_room: MakeRoom
) -> None:
    room = make_room(name="Glass Box")
    kept = make_room(name="Kept")
    response = client.delete(f"/rooms/{room['id']}", headers=admin)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert client.get(f"/rooms/{room['id']}", headers=employee).status_code == 404
    assert [r["id"] for r in client.get("/rooms", headers=employee).get_json()["items"]] == [kept["id"]]
    again = make_room(name="GLASS BOX")
    assert again["id"] != room["id"]


def test_room_deleted_event_carries_the_last_state_one_version_on(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, outbox: ReadOutbox, engine: sa.Engine
) -> None:
    room = make_room(name="Doomed", equipment="tv", timezone="Asia/Tokyo")
    last = client.patch(f"/rooms/{room['id']}", json={"capacity": 3}, headers=admin).get_json()
    client.delete(f"/rooms/{room['id']}", headers=admin)
    events = outbox()
    assert [(e["event_type"], e["version"]) for e in events] == [
        ("room_created", 1),
        ("room_updated", 2),
        ("room_deleted", 3),
    ]
    deleted = events[-1]
    assert deleted["aggregate_id"] == room["id"] and deleted["data"] == last
    assert deleted["producer"] == "room-service" and deleted["schema_version"] == 1
    with engine.connect() as connection:
        key, topic = connection.execute(sa.text("SELECT key, topic FROM outbox ORDER BY id DESC LIMIT 1")).one()
    assert (key, topic) == (str(room["id"]), "room_events")


def test_deleting_twice_is_404_the_second_time_with_one_event(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, outbox: ReadOutbox
) -> None:
    room = make_room()
    assert client.delete(f"/rooms/{room['id']}", headers=admin).status_code == 204
    second = client.delete(f"/rooms/{room['id']}", headers=admin)
    assert second.status_code == 404
    assert second.content_type == "application/problem+json"
    assert len(outbox("room_deleted")) == 1


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_deleted_room_cannot_be_updated(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, outbox: ReadOutbox, method: str
) -> None:
    room = make_room()
    client.delete(f"/rooms/{room['id']}", headers=admin)
    assert getattr(client, method)(f"/rooms/{room['id']}", json={"capacity": 2}, headers=admin).status_code == 404
    assert outbox("room_updated") == []


@pytest.mark.parametrize("path", ["/rooms/424242", "/rooms/0", "/rooms/abc", "/rooms/-1", "/rooms/9223372036854775808"])
def test_deleting_a_missing_or_impossible_id_is_404(client: FlaskClient, admin: dict[str, str], path: str) -> None:
    response = client.delete(path, headers=admin)
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(
    ("method", "body"),
    [("post", {"name": "X", "capacity": 2}), ("put", {"capacity": 2}), ("patch", {"capacity": 2}), ("delete", None)],
)
def test_employees_may_not_change_rooms(
    client: FlaskClient,
    employee: dict[str, str],
    make_room: MakeRoom,
    outbox: ReadOutbox,
    method: str,
    body: dict[str, Any] | None,
) -> None:
    room = make_room()
    path = "/rooms" if method == "post" else f"/rooms/{room['id']}"
    response = getattr(client, method)(path, json=body, headers=employee)
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"
    # Even an invalid body is refused for the role first: nothing about the body is revealed.
    if body is not None:
        assert getattr(client, method)(path, json={"nope": 1}, headers=employee).status_code == 403
    assert client.get(f"/rooms/{room['id']}", headers=employee).get_json() == room
    assert [e["event_type"] for e in outbox()] == ["room_created"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_changes_without_a_token_are_401(client: FlaskClient, make_room: MakeRoom, method: str) -> None:
    room = make_room()
    path = "/rooms" if method == "post" else f"/rooms/{room['id']}"
    response = getattr(client, method)(path, json={"capacity": 2})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
