"""Updating and cancelling: every rule re-checked, history kept, finished and cancelled ones frozen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from servicekit_testing import TestKeys
from tests.conftest import room_event
from tests.test_reservations import at, book


def outbox_types(engine: sa.Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(sa.text("SELECT event_type FROM outbox ORDER BY id")))


def backdate(engine: sa.Engine, reservation_id: int, start: datetime, end: datetime) -> None:
    """Put a reservation in the past directly: the API rightly refuses to create one there."""
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE reservations SET start_time = :s, end_time = :e, occupied_until = :e WHERE id = :id"),
            {"s": start, "e": end, "id": reservation_id},
        )


@pytest.mark.parametrize("method", ["put", "patch"])
def test_partial_update_rechecks_and_emits(
    client: FlaskClient, employee: dict[str, str], room: int, engine: sa.Engine, method: str
) -> None:
    created = book(client, employee, 10, 11).get_json()
    response = getattr(client, method)(
        f"/reservations/{created['id']}", json={"end_time": at(12), "purpose": "Longer"}, headers=employee
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["start_time"], body["end_time"], body["purpose"]) == (at(10), at(12), "Longer")
    assert outbox_types(engine) == ["reservation_created", "reservation_updated"]
    with engine.connect() as connection:
        version = connection.scalar(sa.text("SELECT payload->>'version' FROM outbox ORDER BY id DESC LIMIT 1"))
    assert version == "2"


def test_update_without_change_emits_nothing(
    client: FlaskClient, employee: dict[str, str], room: int, engine: sa.Engine
) -> None:
    created = book(client, employee, 10, 11).get_json()
    response = client.patch(f"/reservations/{created['id']}", json={"start_time": at(10)}, headers=employee)
    assert response.status_code == 200
    assert outbox_types(engine) == ["reservation_created"]


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"end_time": at(9)}, 422, "end_time"),
        ({"end_time": at(23)}, 422, "end_time"),
        ({"start_time": at(-30)}, 422, "start_time"),
        ({"attendees": 100}, 422, "attendees"),
        ({"room_id": 99}, 422, "room_id"),
        ({"status": "cancelled"}, 422, "status"),
        ({"user_id": 5}, 422, "user_id"),
        ({}, 422, None),
    ],
)
def test_invalid_updates_change_nothing(
    client: FlaskClient,
    employee: dict[str, str],
    room: int,
    engine: sa.Engine,
    changes: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    created = book(client, employee, 10, 11).get_json()
    response = client.put(f"/reservations/{created['id']}", json=changes, headers=employee)
    assert response.status_code == status
    assert field in [error["field"] for error in response.get_json()["errors"]]
    assert client.get(f"/reservations/{created['id']}", headers=employee).get_json() == created
    assert outbox_types(engine) == ["reservation_created"]


def test_moving_onto_another_booking_is_409(client: FlaskClient, employee: dict[str, str], room: int) -> None:
    first = book(client, employee, 10, 11).get_json()
    second = book(client, employee, 12, 13).get_json()
    response = client.patch(f"/reservations/{second['id']}", json={"start_time": at(10.5)}, headers=employee)
    assert response.status_code == 409
    assert response.get_json()["conflicts"] == [{"id": first["id"], "start_time": at(10), "end_time": at(11)}]
    assert client.get(f"/reservations/{second['id']}", headers=employee).get_json()["start_time"] == at(12)


def test_moving_to_another_room(
    client: FlaskClient, employee: dict[str, str], room: int, apply_event: Callable[..., bool]
) -> None:
    apply_event(room_event(2, name="Other"))
    created = book(client, employee, 10, 11).get_json()
    moved = client.patch(f"/reservations/{created['id']}", json={"room_id": 2}, headers=employee).get_json()
    assert moved["room_id"] == 2
    assert book(client, employee, 10, 11).status_code == 201  # room 1 is free again


def test_cancel_keeps_history_and_frees_the_slot(
    client: FlaskClient, employee: dict[str, str], room: int, engine: sa.Engine
) -> None:
    created = book(client, employee, 10, 11).get_json()
    assert client.delete(f"/reservations/{created['id']}", headers=employee).status_code == 204
    cancelled = client.get(f"/reservations/{created['id']}", headers=employee).get_json()
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] and cancelled["cancel_reason"]
    assert client.delete(f"/reservations/{created['id']}", headers=employee).status_code == 204  # idempotent
    assert outbox_types(engine) == ["reservation_created", "reservation_cancelled"]
    changed = client.patch(f"/reservations/{created['id']}", json={"purpose": "x"}, headers=employee)
    assert changed.status_code == 409
    assert book(client, employee, 10, 11).status_code == 201


def test_finished_reservations_are_frozen(
    client: FlaskClient, employee: dict[str, str], room: int, engine: sa.Engine
) -> None:
    created = book(client, employee, 10, 11).get_json()
    now = datetime.now(UTC)
    backdate(engine, created["id"], now - timedelta(hours=3), now - timedelta(hours=2))
    assert client.delete(f"/reservations/{created['id']}", headers=employee).status_code == 409
    assert client.patch(f"/reservations/{created['id']}", json={"purpose": "x"}, headers=employee).status_code == 409


def test_meeting_in_progress_may_be_extended_but_not_moved_back(
    client: FlaskClient, employee: dict[str, str], room: int, engine: sa.Engine
) -> None:
    created = book(client, employee, 10, 11).get_json()
    now = datetime.now(UTC).replace(microsecond=0)
    backdate(engine, created["id"], now - timedelta(minutes=30), now + timedelta(minutes=30))
    longer = client.patch(
        f"/reservations/{created['id']}", json={"end_time": (now + timedelta(hours=1)).isoformat()}, headers=employee
    )
    assert longer.status_code == 200
    earlier = client.patch(
        f"/reservations/{created['id']}", json={"start_time": (now - timedelta(hours=1)).isoformat()}, headers=employee
    )
    assert earlier.status_code == 422


def test_others_cannot_change_or_cancel(
    client: FlaskClient, employee: dict[str, str], admin: dict[str, str], keys: TestKeys, room: int
) -> None:
    created = book(client, employee, 10, 11).get_json()
    stranger = keys.headers(user_id=3)
    assert client.patch(f"/reservations/{created['id']}", json={"purpose": "x"}, headers=stranger).status_code == 404
    assert client.delete(f"/reservations/{created['id']}", headers=stranger).status_code == 404
    assert client.delete(f"/reservations/{created['id']}", headers=admin).status_code == 204
    reason = client.get(f"/reservations/{created['id']}", headers=employee).get_json()["cancel_reason"]
    assert reason == "cancelled by an admin"


def test_list_filters(
    client: FlaskClient,
    employee: dict[str, str],
    admin: dict[str, str],
    keys: TestKeys,
    room: int,
    apply_event: Callable[..., bool],
) -> None:
    apply_event(room_event(2, name="Other"))
    a = book(client, employee, 10, 11).get_json()
    b = book(client, employee, 12, 13, room_id=2).get_json()
    c = book(client, keys.headers(user_id=3), 14, 15).get_json()
    client.delete(f"/reservations/{b['id']}", headers=employee)

    def ids(query: str, headers: dict[str, str]) -> list[int]:
        response = client.get(f"/reservations?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("", employee) == [a["id"], b["id"]]
    assert ids("room_id=2", employee) == [b["id"]]
    assert ids("status=confirmed", employee) == [a["id"]]
    assert ids(f"from={at(11).replace('+', '%2B')}", employee) == [b["id"]]
    assert ids(f"to={at(11).replace('+', '%2B')}", employee) == [a["id"]]
    assert ids("", admin) == [a["id"], b["id"], c["id"]]
    assert ids("user_id=3", admin) == [c["id"]]
    assert ids("user_id=2", employee) == [a["id"], b["id"]]
    assert client.get("/reservations?user_id=3", headers=employee).status_code == 403


@pytest.mark.parametrize(
    "query", ["from=2030-01-01T10:00:00", "to=tomorrow", "status=maybe", "room_id=x", "per_page=0"]
)
def test_bad_list_queries_are_422(client: FlaskClient, employee: dict[str, str], query: str) -> None:
    response = client.get(f"/reservations?{query}", headers=employee)
    assert response.status_code == 422
    assert response.get_json()["errors"]


def test_a_meeting_in_progress_cannot_move_room_nor_end_in_the_past(
    client: FlaskClient, employee: dict[str, str], room: int, engine: sa.Engine, apply_event: Callable[..., bool]
) -> None:
    apply_event(room_event(2, name="Other"))
    created = book(client, employee, 10, 11).get_json()
    now = datetime.now(UTC).replace(microsecond=0)
    backdate(engine, created["id"], now - timedelta(minutes=30), now + timedelta(minutes=30))
    moved = client.patch(f"/reservations/{created['id']}", json={"room_id": 2}, headers=employee)
    assert moved.status_code == 422 and moved.get_json()["errors"][0]["field"] == "start_time"
    ended = client.patch(
        f"/reservations/{created['id']}", json={"end_time": (now - timedelta(minutes=5)).isoformat()}, headers=employee
    )
    assert ended.status_code == 422 and [e["field"] for e in ended.get_json()["errors"]] == ["end_time"]
    shorter = client.patch(
        f"/reservations/{created['id']}", json={"end_time": (now + timedelta(minutes=10)).isoformat()}, headers=employee
    )
    assert shorter.status_code == 200
    unchanged = client.get(f"/reservations/{created['id']}", headers=employee).get_json()
    assert unchanged["room_id"] == 1
