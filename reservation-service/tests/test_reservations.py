from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from reservation_service.reservations.booking import Booked
from reservation_service.reservations.models import Reservation
from servicekit_testing import TestKeys
from tests.conftest import room_event


def at(hours: float, base: datetime | None = None) -> str:
    """An instant `hours` after tomorrow 00:00 UTC, in ISO 8601 with offset."""
    start = base or (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (start + timedelta(hours=hours)).isoformat()


def book(client: FlaskClient, headers: dict[str, str], start: float, end: float, **fields: Any) -> Any:
    body = {"room_id": 1, "start_time": at(start), "end_time": at(end), "purpose": "Planning", **fields}
    return client.post("/reservations", json=body, headers=headers)


def test_booking_a_free_slot(client: FlaskClient, employee: dict[str, str], room: int, engine: sa.Engine) -> None:
    response = book(client, employee, 10, 11)
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/reservations/{body['id']}"
    assert body["status"] == "confirmed" and body["user_id"] == 2 and body["attendees"] == 1
    assert body["start_time"] == at(10)
    assert client.get(f"/reservations/{body['id']}", headers=employee).get_json() == body
    with engine.connect() as connection:
        event = connection.execute(sa.text("SELECT event_type, payload FROM outbox")).one()
    assert event[0] == "reservation_created" and event[1]["data"]["id"] == body["id"]
    assert event[1]["data"] == body and event[1]["aggregate_id"] == body["id"]
    # What book() answers from (a plain value) carries every column of the table.
    assert {field.name for field in fields(Booked)} == set(Reservation.__table__.columns.keys())


def test_overlap_is_409_listing_the_conflict(client: FlaskClient, employee: dict[str, str], room: int) -> None:
    first = book(client, employee, 10, 11).get_json()
    response = book(client, employee, 10.5, 12)
    assert response.status_code == 409
    body = response.get_json()
    assert response.content_type == "application/problem+json"
    assert body["conflicts"] == [{"id": first["id"], "start_time": at(10), "end_time": at(11)}]


def test_others_conflicts_show_times_only(
    client: FlaskClient, employee: dict[str, str], keys: TestKeys, room: int
) -> None:
    book(client, employee, 10, 11)
    response = book(client, keys.headers(user_id=3), 9, 10.5)
    assert response.status_code == 409
    assert response.get_json()["conflicts"] == [{"start_time": at(10), "end_time": at(11)}]


def test_back_to_back_bookings_are_fine(client: FlaskClient, employee: dict[str, str], room: int) -> None:
    assert book(client, employee, 10, 11).status_code == 201
    assert book(client, employee, 11, 12).status_code == 201
    assert book(client, employee, 9, 10).status_code == 201


@pytest.mark.parametrize(
    ("start", "end", "fields", "bad_field"),
    [
        (11, 10, {}, "end_time"),
        (10, 10, {}, "end_time"),
        (-48, -47, {}, "start_time"),
        (1, 14, {}, "end_time"),
        (10, 11, {"attendees": 9}, "attendees"),
        (10, 11, {"attendees": 0}, "attendees"),
        (10, 11, {"owner": 5}, "owner"),
        (10, 11, {"room_id": "1"}, "room_id"),
    ],
)
def test_rule_violations_are_422(
    client: FlaskClient,
    employee: dict[str, str],
    room: int,
    engine: sa.Engine,
    start: float,
    end: float,
    fields: dict[str, Any],
    bad_field: str,
) -> None:
    response = book(client, employee, start, end, **fields)
    assert response.status_code == 422
    assert bad_field in [error["field"] for error in response.get_json()["errors"]]
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM reservations")) == 0


@pytest.mark.parametrize("value", ["tomorrow", "2030-01-01", 1700000000, None, "2030-13-01T10:00:00Z"])
def test_unreadable_times_are_422(client: FlaskClient, employee: dict[str, str], room: int, value: Any) -> None:
    body = {"room_id": 1, "start_time": value, "end_time": at(11)}
    response = client.post("/reservations", json=body, headers=employee)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "start_time"


def test_unknown_room_is_422_unknown_room(client: FlaskClient, employee: dict[str, str]) -> None:
    response = book(client, employee, 10, 11, room_id=42)
    assert response.status_code == 422
    assert response.get_json()["type"].endswith("/unknown-room")


def test_inactive_room_is_422(client: FlaskClient, employee: dict[str, str], apply_event: Callable[..., bool]) -> None:
    apply_event(room_event(1, is_active=False))
    assert book(client, employee, 10, 11).get_json()["type"].endswith("/unknown-room")


def test_times_without_offset_are_read_in_the_room_zone(
    client: FlaskClient, employee: dict[str, str], apply_event: Callable[..., bool]
) -> None:
    apply_event(room_event(1, timezone="Europe/Berlin"))
    body = {"room_id": 1, "start_time": "2030-07-01T10:00:00", "end_time": "2030-07-01T11:00:00"}
    created = client.post("/reservations", json=body, headers=employee).get_json()
    assert created["start_time"] == "2030-07-01T10:00:00+02:00"
    winter = {"room_id": 1, "start_time": "2030-01-07T10:00:00Z", "end_time": "2030-01-07T11:00:00Z"}
    assert client.post("/reservations", json=winter, headers=employee).get_json()["start_time"] == (
        "2030-01-07T11:00:00+01:00"
    )


def test_wall_clock_time_in_a_dst_gap_is_422(
    client: FlaskClient, employee: dict[str, str], apply_event: Callable[..., bool]
) -> None:
    apply_event(room_event(1, timezone="Europe/Berlin"))
    body = {"room_id": 1, "start_time": "2030-03-31T02:30:00", "end_time": "2030-03-31T04:00:00"}
    response = client.post("/reservations", json=body, headers=employee)
    assert response.status_code == 422
    assert "daylight-saving" in response.get_json()["errors"][0]["message"]


def test_others_reservations_are_404_but_admins_see_them(
    client: FlaskClient, employee: dict[str, str], admin: dict[str, str], keys: TestKeys, room: int
) -> None:
    created = book(client, employee, 10, 11).get_json()
    assert client.get(f"/reservations/{created['id']}", headers=keys.headers(user_id=3)).status_code == 404
    assert client.get(f"/reservations/{created['id']}", headers=admin).status_code == 200


def test_list_shows_own_reservations_and_admins_all(
    client: FlaskClient, employee: dict[str, str], admin: dict[str, str], keys: TestKeys, room: int
) -> None:
    book(client, employee, 10, 11)
    book(client, keys.headers(user_id=3), 11, 12)
    mine = client.get("/reservations", headers=employee).get_json()
    assert mine["total"] == 1 and mine["items"][0]["user_id"] == 2
    everyone = client.get("/reservations", headers=admin).get_json()
    assert everyone["total"] == 2


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/reservations/0"),
        ("delete", "/reservations/0"),
        ("patch", "/reservations/99999999999999999999"),
        ("get", "/reservations/-3"),
    ],
)
def test_ids_that_cannot_exist_are_404_for_every_method(
    client: FlaskClient, employee: dict[str, str], method: str, path: str
) -> None:
    response = getattr(client, method)(path, json={"purpose": "x"}, headers=employee)
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


def test_nul_in_purpose_is_422_not_500(client: FlaskClient, employee: dict[str, str], room: int) -> None:
    assert book(client, employee, 10, 11, purpose="bad\x00purpose").status_code == 422
