"""A room's day, free rooms for a window, daylight-saving days in Europe/Berlin."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from servicekit_testing import TestKeys
from tests.conftest import room_event


def post(client: FlaskClient, headers: dict[str, str], room_id: int, start: str, end: str, **extra: object) -> int:
    body = {"room_id": room_id, "start_time": start, "end_time": end, "purpose": "Secret plans", **extra}
    response = client.post("/reservations", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def test_day_lists_booked_and_free_with_privacy(
    client: FlaskClient, employee: dict[str, str], keys: TestKeys, apply_event: Callable[..., bool]
) -> None:
    apply_event(room_event(1, timezone="Europe/Berlin"))
    mine = post(client, employee, 1, "2030-07-01T09:00:00", "2030-07-01T10:00:00")
    post(client, keys.headers(user_id=3), 1, "2030-07-01T13:00:00", "2030-07-01T14:30:00")
    day = client.get("/availability?room_id=1&date=2030-07-01", headers=employee).get_json()
    assert day["timezone"] == "Europe/Berlin" and day["date"] == "2030-07-01"
    assert day["booked"] == [
        {
            "id": mine,
            "purpose": "Secret plans",
            "start_time": "2030-07-01T09:00:00+02:00",
            "end_time": "2030-07-01T10:00:00+02:00",
        },
        {"start_time": "2030-07-01T13:00:00+02:00", "end_time": "2030-07-01T14:30:00+02:00"},
    ]
    assert day["free"] == [
        {"start_time": "2030-07-01T00:00:00+02:00", "end_time": "2030-07-01T09:00:00+02:00"},
        {"start_time": "2030-07-01T10:00:00+02:00", "end_time": "2030-07-01T13:00:00+02:00"},
        {"start_time": "2030-07-01T14:30:00+02:00", "end_time": "2030-07-02T00:00:00+02:00"},
    ]


@pytest.mark.parametrize(
    ("date", "first_free_end", "hours"),
    [("2030-03-31", "2030-03-31T01:00:00+01:00", 23), ("2030-10-27", "2030-10-27T01:00:00+02:00", 25)],
)
def test_daylight_saving_days_have_23_or_25_hours(
    client: FlaskClient,
    employee: dict[str, str],
    apply_event: Callable[..., bool],
    date: str,
    first_free_end: str,
    hours: int,
) -> None:
    apply_event(room_event(1, timezone="Europe/Berlin", capacity=8))
    post(client, employee, 1, f"{date}T01:00:00", f"{date}T04:00:00")
    day = client.get(f"/availability?room_id=1&date={date}", headers=employee).get_json()
    from datetime import datetime

    intervals = day["booked"] + day["free"]
    total = sum(
        (datetime.fromisoformat(i["end_time"]) - datetime.fromisoformat(i["start_time"])).total_seconds()
        for i in intervals
    )
    assert total == hours * 3600
    assert day["free"][0]["end_time"] == first_free_end
    # The booking 01:00-04:00 local spans the change: 2 hours in spring, 4 in autumn.
    booked = day["booked"][0]
    duration = datetime.fromisoformat(booked["end_time"]) - datetime.fromisoformat(booked["start_time"])
    assert duration.total_seconds() == (2 if hours == 23 else 4) * 3600


def test_ambiguous_autumn_time_with_explicit_offset(
    client: FlaskClient, employee: dict[str, str], apply_event: Callable[..., bool]
) -> None:
    apply_event(room_event(1, timezone="Europe/Berlin"))
    rid = post(client, employee, 1, "2030-10-27T02:30:00+01:00", "2030-10-27T03:30:00+01:00")
    assert client.get(f"/reservations/{rid}", headers=employee).get_json()["start_time"] == "2030-10-27T02:30:00+01:00"


@pytest.mark.parametrize(
    "query",
    [
        "room_id=1",
        "date=2030-01-01",
        "room_id=1&date=2030-02-30",
        "room_id=1&date=2030-01-01T10:00:00Z",
        "room_id=a&date=2030-01-01",
    ],
)
def test_bad_day_queries_are_422(client: FlaskClient, employee: dict[str, str], room: int, query: str) -> None:
    assert client.get(f"/availability?{query}", headers=employee).status_code == 422


def test_day_of_unknown_or_deleted_room_is_404(
    client: FlaskClient, employee: dict[str, str], apply_event: Callable[..., bool]
) -> None:
    assert client.get("/availability?room_id=9&date=2030-01-01", headers=employee).status_code == 404
    apply_event(room_event(9))
    apply_event(room_event(9, "room_deleted", version=2))
    assert client.get("/availability?room_id=9&date=2030-01-01", headers=employee).status_code == 404


def test_free_rooms_for_a_window(
    client: FlaskClient, employee: dict[str, str], apply_event: Callable[..., bool]
) -> None:
    apply_event(room_event(1, capacity=4, equipment=["projector"]))
    apply_event(room_event(2, capacity=10, equipment=["projector", "whiteboard"]))
    apply_event(room_event(3, capacity=12, equipment=["projector", "whiteboard"]))
    apply_event(room_event(4, capacity=20, equipment=["projector", "whiteboard"], is_active=False))
    post(client, employee, 3, "2030-05-05T10:30:00Z", "2030-05-05T11:30:00Z")
    post(client, employee, 2, "2030-05-05T09:00:00Z", "2030-05-05T10:00:00Z")  # ends as the window starts

    def ids(query: str) -> list[int]:
        response = client.get(f"/availability/rooms?{query}", headers=employee)
        assert response.status_code == 200, response.get_json()
        return [room["id"] for room in response.get_json()["items"]]

    window = "start=2030-05-05T10:00:00Z&end=2030-05-05T11:00:00Z"
    assert ids(window) == [1, 2]
    assert ids(f"{window}&min_capacity=5") == [2]
    assert ids(f"{window}&equipment=Whiteboard,%20projector") == [2]
    assert ids("start=2030-05-05T12:00:00Z&end=2030-05-05T13:00:00Z&min_capacity=10") == [2, 3]


def test_free_rooms_pages_carry_the_total(
    client: FlaskClient, employee: dict[str, str], apply_event: Callable[..., bool]
) -> None:
    """The page and the total come from one statement; past the last page the total is counted apart."""
    for room_id in range(1, 6):
        apply_event(room_event(room_id))
    post(client, employee, 2, "2030-05-05T10:00:00Z", "2030-05-05T11:00:00Z")
    window = "start=2030-05-05T10:00:00Z&end=2030-05-05T11:00:00Z&per_page=2"

    def page(number: int) -> tuple[list[int], int]:
        body = client.get(f"/availability/rooms?{window}&page={number}", headers=employee).get_json()
        return [room["id"] for room in body["items"]], body["total"]

    assert page(1) == ([1, 3], 4)
    assert page(2) == ([4, 5], 4)
    assert page(3) == ([], 4)


@pytest.mark.parametrize(
    "query",
    [
        "start=2030-05-05T10:00:00&end=2030-05-05T11:00:00Z",
        "start=2030-05-05T11:00:00Z&end=2030-05-05T10:00:00Z",
        "start=2030-05-05&end=2030-05-06",
        "end=2030-05-05T11:00:00Z",
        "start=2030-05-05T10:00:00Z&end=2030-05-05T11:00:00Z&min_capacity=0",
    ],
)
def test_bad_free_room_queries_are_422(client: FlaskClient, employee: dict[str, str], query: str) -> None:
    response = client.get(f"/availability/rooms?{query}", headers=employee)
    assert response.status_code == 422
    assert response.get_json()["errors"]
