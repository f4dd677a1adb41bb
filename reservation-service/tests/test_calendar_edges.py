"""Instants at the ends of the calendar: 422 outside the years 1970..9000, never an overflow, and a
reservation stays readable and cancellable whatever time zone its room moves to."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.conftest import room_event

ApplyEvent = Callable[..., bool]

OUTSIDE = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00",
    "1969-12-31T23:59:59+00:00",
    "1970-01-01T00:30:00+01:00",  # 1970 where it was written, 1969 in UTC
    "9000-12-31T23:00:00-05:00",  # 9000 where it was written, 9001 in UTC
    "9001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59",
]


def assert_422(response: object, field: str) -> None:
    status, body = response.status_code, response.get_json()  # type: ignore[attr-defined]
    assert status == 422, body
    assert response.content_type == "application/problem+json"  # type: ignore[attr-defined]
    assert field in [error["field"] for error in body["errors"]], body


@pytest.mark.parametrize("instant", OUTSIDE)
def test_list_filters_outside_the_years_are_422(client: FlaskClient, employee: dict[str, str], instant: str) -> None:
    if "+" not in instant[10:] and "-" not in instant[10:] and not instant.endswith("Z"):
        instant += "+00:00"  # list filters need an offset; the range is what is tested here
    for name in ("from", "to"):
        assert_422(client.get("/reservations", query_string={name: instant}, headers=employee), name)


@pytest.mark.parametrize("day", ["0001-01-01", "1969-12-31", "9001-01-01", "9999-12-31"])
def test_availability_days_outside_the_years_are_422(
    client: FlaskClient, employee: dict[str, str], room: int, day: str
) -> None:
    assert_422(client.get("/availability", query_string={"room_id": 1, "date": day}, headers=employee), "date")


def test_the_last_day_is_served_in_the_zone_furthest_ahead(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1, timezone="Pacific/Kiritimati"))
    for day in ("1970-01-01", "9000-12-31"):
        response = client.get("/availability", query_string={"room_id": 1, "date": day}, headers=employee)
        assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("instant", OUTSIDE)
def test_free_room_windows_outside_the_years_are_422(
    client: FlaskClient, employee: dict[str, str], room: int, instant: str
) -> None:
    window = {"start": "2030-01-01T10:00:00+00:00", "end": "2030-01-01T11:00:00+00:00"}
    for name in ("start", "end"):
        query = {**window, name: instant if instant[-6] in "+-" or instant.endswith("Z") else instant + "Z"}
        assert_422(client.get("/availability/rooms", query_string=query, headers=employee), name)


@pytest.mark.parametrize("start", ["9999-12-30T10:00:00", "0001-01-01T10:00:00", "9000-12-31T23:30:00-01:00"])
def test_bookings_outside_the_years_are_422(
    client: FlaskClient, employee: dict[str, str], room: int, start: str
) -> None:
    body = {"room_id": 1, "start_time": start, "end_time": "2030-01-01T10:00:00Z"}
    assert_422(client.post("/reservations", json=body, headers=employee), "start_time")


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12", "America/Adak"])
def test_a_booking_at_the_last_hour_stays_readable_when_its_room_changes_zone(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent, zone: str
) -> None:
    apply_event(room_event(1))
    body = {"room_id": 1, "start_time": "9000-12-31T22:00:00Z", "end_time": "9000-12-31T23:00:00Z"}
    created = client.post("/reservations", json=body, headers=employee)
    assert created.status_code == 201, created.get_json()
    reservation_id = created.get_json()["id"]
    apply_event(room_event(1, "room_updated", version=2, timezone=zone))
    read = client.get(f"/reservations/{reservation_id}", headers=employee)
    assert read.status_code == 200 and read.get_json()["start_time"].startswith(("9000-12-31", "9001-01-01"))
    assert client.get("/reservations", headers=employee).status_code == 200
    assert client.delete(f"/reservations/{reservation_id}", headers=employee).status_code == 204


def test_a_row_from_before_the_limits_is_still_readable(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent, engine: sa.Engine
) -> None:
    """Bookings up to the year 9999 could be made before the limits existed; a +14:00 zone would
    carry them past the end of the calendar."""
    apply_event(room_event(1))
    body = {"room_id": 1, "start_time": "2030-01-01T10:00:00Z", "end_time": "2030-01-01T11:00:00Z"}
    reservation_id = client.post("/reservations", json=body, headers=employee).get_json()["id"]
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE reservations SET start_time = :s, end_time = :e, occupied_until = :e WHERE id = :id"),
            {"s": "9999-12-31T22:00:00Z", "e": "9999-12-31T23:00:00Z", "id": reservation_id},
        )
    apply_event(room_event(1, "room_updated", version=2, timezone="Pacific/Kiritimati"))
    read = client.get(f"/reservations/{reservation_id}", headers=employee)
    assert read.status_code == 200 and read.get_json()["end_time"] == "9999-12-31T23:00:00+00:00"
    assert client.delete(f"/reservations/{reservation_id}", headers=employee).status_code == 204
