"""The room's booking policy, enforced by the reservation service: horizon, duration, buffer, opening hours
(each at its edges, on create and on update), availability inside them, and the per-user quota."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from reservation_service import create_app
from reservation_service.availability import service as availability_service
from reservation_service.config import Settings
from servicekit_testing import TestKeys
from tests.conftest import room_event

ApplyEvent = Callable[..., bool]
WEEKDAYS_8_TO_18 = {day: [{"start": "08:00", "end": "18:00"}] for day in ("mon", "tue", "wed", "thu", "fri")}


def post(
    client: FlaskClient, headers: dict[str, str], start: datetime | str, end: datetime | str, room: int = 1
) -> Any:
    def text(value: datetime | str) -> str:
        return value.isoformat() if isinstance(value, datetime) else value

    body = {"room_id": room, "start_time": text(start), "end_time": text(end)}
    return client.post("/reservations", json=body, headers=headers)


def assert_policy_violation(response: Any, *fields: str) -> None:
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["type"].endswith("/policy-violation"), body
    assert sorted(error["field"] for error in body["errors"]) == sorted(fields), body


def soon(days: float = 1, hour: int = 10) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def test_the_horizon_at_its_edge(client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent) -> None:
    apply_event(room_event(1, max_days_ahead=10))
    edge = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    inside = post(client, employee, edge - timedelta(minutes=1), edge + timedelta(minutes=29))
    assert inside.status_code == 201, inside.get_json()
    assert_policy_violation(
        post(client, employee, edge + timedelta(minutes=1), edge + timedelta(hours=1)), "start_time"
    )


def test_an_event_without_policies_means_the_default_horizon_of_a_year(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    event = room_event(1)
    del event["data"]["max_days_ahead"]
    apply_event(event)
    assert post(client, employee, soon(364), soon(364, 11)).status_code == 201
    assert_policy_violation(post(client, employee, soon(366), soon(366, 11)), "start_time")


@pytest.mark.parametrize(("limit", "minutes"), [(60, 60), (None, 12 * 60)])
def test_the_longest_booking_is_the_room_s_or_the_global_one(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent, limit: int | None, minutes: int
) -> None:
    apply_event(room_event(1, max_duration_minutes=limit))
    start = soon(2, 6)
    assert post(client, employee, start, start + timedelta(minutes=minutes)).status_code == 201
    later = start + timedelta(days=1)
    assert_policy_violation(post(client, employee, later, later + timedelta(minutes=minutes + 1)), "end_time")


def test_several_broken_rules_are_listed_together(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1, max_days_ahead=5, max_duration_minutes=30, opening_hours={}))
    response = post(client, employee, soon(30), soon(30, 12))
    assert_policy_violation(response, "start_time", "end_time", "start_time")


def test_the_buffer_keeps_time_free_after_each_meeting(
    client: FlaskClient, employee: dict[str, str], admin: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1, buffer_minutes=15))
    day = soon(3, 0)
    first = post(client, employee, day + timedelta(hours=10), day + timedelta(hours=11)).get_json()
    inside = post(client, admin, day + timedelta(hours=11), day + timedelta(hours=12))
    assert inside.status_code == 409 and inside.get_json()["conflicts"][0]["id"] == first["id"]
    reaching = post(client, admin, day + timedelta(hours=9), day + timedelta(hours=9, minutes=50))
    assert reaching.status_code == 409, "its own buffer reaches into the next meeting"
    assert post(client, admin, day + timedelta(hours=9), day + timedelta(hours=9, minutes=45)).status_code == 201
    assert post(client, admin, day + timedelta(hours=11, minutes=15), day + timedelta(hours=12)).status_code == 201
    availability = client.get(f"/availability?room_id=1&date={day.date()}", headers=employee).get_json()
    assert [(slot["start_time"][11:16], slot["end_time"][11:16]) for slot in availability["booked"]] == [
        ("09:00", "10:00"),
        ("10:00", "11:15"),
        ("11:15", "12:15"),
    ]
    assert [(slot["start_time"][11:16], slot["end_time"][11:16]) for slot in availability["free"]] == [
        ("00:00", "09:00"),
        ("12:15", "00:00"),
    ]


def test_a_reservation_keeps_the_buffer_it_was_made_with(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1, buffer_minutes=15))
    day = soon(3, 0)
    first = post(client, employee, day + timedelta(hours=10), day + timedelta(hours=11)).get_json()
    apply_event(room_event(1, "room_updated", version=2, buffer_minutes=60, max_days_ahead=None))
    assert (
        post(client, employee, day + timedelta(hours=11, minutes=15), day + timedelta(hours=11, minutes=30)).status_code
        == 201
    )
    renamed = client.patch(f"/reservations/{first['id']}", json={"purpose": "Renamed"}, headers=employee)
    assert renamed.status_code == 200  # nothing about its time changed: its buffer stays 15 minutes
    moved = client.patch(
        f"/reservations/{first['id']}",
        json={"start_time": (day + timedelta(hours=9, minutes=30)).isoformat()},
        headers=employee,
    )
    assert moved.status_code == 409, "moved, it takes the room's buffer of now: 60 minutes reach the next one"


def test_opening_hours_in_the_room_s_zone_across_a_dst_change(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1, timezone="Europe/Berlin", opening_hours=WEEKDAYS_8_TO_18))
    # Monday 2030-03-25 is winter time (+01:00), Monday 2030-04-01 summer time (+02:00): 08:00 local both.
    assert post(client, employee, "2030-03-25T08:00:00", "2030-03-25T18:00:00").status_code == 201
    assert post(client, employee, "2030-04-01T06:00:00Z", "2030-04-01T16:00:00Z").status_code == 201
    assert_policy_violation(post(client, employee, "2030-03-26T07:59:00", "2030-03-26T09:00:00"), "start_time")
    assert_policy_violation(post(client, employee, "2030-04-02T05:30:00Z", "2030-04-02T07:00:00Z"), "start_time")
    assert_policy_violation(post(client, employee, "2030-04-02T17:00:00", "2030-04-02T18:01:00"), "start_time")
    assert_policy_violation(post(client, employee, "2030-03-30T10:00:00", "2030-03-30T11:00:00"), "start_time")


def test_open_time_joins_across_midnight(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    hours = {"tue": [{"start": "20:00", "end": "24:00"}], "wed": [{"start": "00:00", "end": "02:00"}]}
    apply_event(room_event(1, timezone="America/New_York", opening_hours=hours))
    assert post(client, employee, "2030-05-07T22:00:00", "2030-05-08T02:00:00").status_code == 201
    assert_policy_violation(post(client, employee, "2030-05-14T22:00:00", "2030-05-15T02:30:00"), "start_time")


def test_availability_is_free_only_inside_opening_hours(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1, timezone="Europe/Berlin", opening_hours=WEEKDAYS_8_TO_18))
    assert post(client, employee, "2030-04-01T12:00:00", "2030-04-01T13:00:00").status_code == 201
    monday = client.get("/availability?room_id=1&date=2030-04-01", headers=employee).get_json()
    assert [(slot["start_time"], slot["end_time"]) for slot in monday["free"]] == [
        ("2030-04-01T08:00:00+02:00", "2030-04-01T12:00:00+02:00"),
        ("2030-04-01T13:00:00+02:00", "2030-04-01T18:00:00+02:00"),
    ]
    sunday = client.get("/availability?room_id=1&date=2030-03-31", headers=employee).get_json()
    assert sunday["free"] == [] and sunday["booked"] == []


@pytest.fixture(params=["one scan of the occupied ranges", "room by room"])
def search_way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The search finds busy rooms one of two ways, chosen by the window's length: both must answer alike."""
    longest_short_window = timedelta(days=3650) if request.param.startswith("one scan") else timedelta(0)
    monkeypatch.setattr(availability_service, "SHORT_WINDOW", longest_short_window)
    return str(request.param)


@pytest.mark.usefixtures("search_way")
def test_the_free_room_search_respects_hours_and_buffers(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1, opening_hours=WEEKDAYS_8_TO_18))  # UTC
    apply_event(room_event(2, buffer_minutes=30))
    apply_event(room_event(3))
    apply_event(room_event(4, buffer_minutes=240))
    assert post(client, employee, "2030-04-01T12:00:00Z", "2030-04-01T12:45:00Z", room=3).status_code == 201

    def ids(start: str, end: str) -> list[int]:
        response = client.get("/availability/rooms", query_string={"start": start, "end": end}, headers=employee)
        assert response.status_code == 200, response.get_json()
        return [room["id"] for room in response.get_json()["items"]]

    assert ids("2030-04-01T10:00:00Z", "2030-04-01T11:00:00Z") == [1, 2, 3, 4]
    assert ids("2030-04-01T17:30:00Z", "2030-04-01T18:30:00Z") == [2, 3, 4]  # room 1 closes at 18:00
    assert ids("2030-04-01T13:00:00Z", "2030-04-01T14:00:00Z") == [1, 2, 3, 4]
    assert ids("2030-04-01T11:30:00Z", "2030-04-01T12:00:00Z") == [1, 2, 3, 4]
    assert post(client, employee, "2030-04-01T15:00:00Z", "2030-04-01T16:00:00Z", room=2).status_code == 201
    assert ids("2030-04-01T14:15:00Z", "2030-04-01T14:45:00Z") == [1, 3, 4]  # its own buffer would reach 15:00
    assert ids("2030-04-01T16:15:00Z", "2030-04-01T16:45:00Z") == [1, 3, 4]  # inside the 16:00 meeting's buffer
    # The longest buffer, both ways: four hours after a meeting, and a window whose buffer reaches the next one.
    assert post(client, employee, "2030-04-01T08:00:00Z", "2030-04-01T09:00:00Z", room=4).status_code == 201
    assert post(client, employee, "2030-04-01T20:00:00Z", "2030-04-01T21:00:00Z", room=4).status_code == 201
    assert ids("2030-04-01T12:45:00Z", "2030-04-01T13:00:00Z") == [1, 2, 3]  # 08:00's buffer lasts until 13:00
    assert ids("2030-04-01T13:00:00Z", "2030-04-01T14:30:00Z") == [1, 2, 3, 4]
    assert ids("2030-04-01T15:00:00Z", "2030-04-01T16:01:00Z") == [1, 3]  # its buffer would reach 20:01
    assert ids("2030-04-01T15:00:00Z", "2030-04-01T16:00:00Z") == [1, 3, 4]
    # Windows of days: room 1 closes at night; the 20:00 meeting keeps room 4 until 01:00 the next day.
    assert ids("2030-03-31T00:00:00Z", "2030-04-03T00:00:00Z") == []
    assert ids("2030-04-02T00:00:00Z", "2030-04-04T00:00:00Z") == [2, 3]
    assert ids("2030-04-02T01:00:00Z", "2030-04-04T00:00:00Z") == [2, 3, 4]


def test_an_update_of_purpose_alone_passes_a_tightened_policy(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1))
    created = post(client, employee, "2030-04-01T06:00:00Z", "2030-04-01T09:00:00Z").get_json()
    apply_event(room_event(1, "room_updated", version=2, max_duration_minutes=60, opening_hours=WEEKDAYS_8_TO_18))
    path = f"/reservations/{created['id']}"
    assert client.patch(path, json={"purpose": "Kept", "attendees": 2}, headers=employee).status_code == 200
    assert_policy_violation(
        client.patch(path, json={"end_time": "2030-04-01T09:30:00Z"}, headers=employee), "end_time", "start_time"
    )


@pytest.fixture
def quota_client(settings: Settings) -> FlaskClient:
    app: Flask = create_app(dataclasses.replace(settings, max_upcoming_reservations=2))
    return app.test_client()


def test_the_quota_counts_upcoming_confirmed_bookings_only(
    quota_client: FlaskClient,
    employee: dict[str, str],
    admin: dict[str, str],
    apply_event: ApplyEvent,
    engine: sa.Engine,
) -> None:
    apply_event(room_event(1))
    first = post(quota_client, employee, soon(1, 8), soon(1, 9)).get_json()
    assert post(quota_client, employee, soon(1, 10), soon(1, 11)).status_code == 201
    refused = post(quota_client, employee, soon(1, 12), soon(1, 13))
    assert refused.status_code == 422 and refused.get_json()["type"].endswith("/quota-exceeded")
    for hour in (12, 14, 16):  # admins are exempt
        assert post(quota_client, admin, soon(2, hour), soon(2, hour + 1)).status_code == 201
    assert quota_client.delete(f"/reservations/{first['id']}", headers=employee).status_code == 204
    assert post(quota_client, employee, soon(1, 12), soon(1, 13)).status_code == 201
    with engine.begin() as connection:  # a finished one does not count either
        connection.execute(
            sa.text(
                "UPDATE reservations SET start_time = now() - interval '2 hours', end_time = now() - interval '1 hour',"
                " occupied_until = now() - interval '1 hour' WHERE user_id = 2 AND status = 'confirmed'"
                " AND start_time = (SELECT min(start_time) FROM reservations"
                " WHERE user_id = 2 AND status = 'confirmed')"
            )
        )
    assert post(quota_client, employee, soon(1, 14), soon(1, 15)).status_code == 201


def test_parallel_bookings_of_one_user_cannot_both_pass_the_quota(
    settings: Settings, keys: TestKeys, apply_event: ApplyEvent, engine: sa.Engine
) -> None:
    app = create_app(dataclasses.replace(settings, max_upcoming_reservations=1))
    apply_event(room_event(1))
    apply_event(room_event(2))
    headers = keys.headers(user_id=7)

    def book(index: int) -> int:
        start = soon(1 + index, 8)
        return int(post(app.test_client(), headers, start, start + timedelta(hours=1), room=1 + index % 2).status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(book, range(16)))
    assert statuses.count(201) == 1 and statuses.count(422) == 15, statuses
    with engine.connect() as connection:
        held = connection.scalar(
            sa.text("SELECT count(*) FROM reservations WHERE user_id = 7 AND status = 'confirmed'")
        )
    assert held == 1


def test_bookings_racing_into_each_other_s_buffers_never_overlap(
    app: Flask, keys: TestKeys, apply_event: ApplyEvent, engine: sa.Engine
) -> None:
    apply_event(room_event(1, buffer_minutes=20))
    base = soon(4, 8)

    def book(index: int) -> int:
        start = base + timedelta(minutes=10 * index)  # each starts inside the buffer of the one before it
        headers = keys.headers(user_id=100 + index)
        return int(post(app.test_client(), headers, start, start + timedelta(minutes=15)).status_code)

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(book, range(50)))
    assert set(statuses) <= {201, 409} and statuses.count(201) >= 1, statuses
    with engine.connect() as connection:
        ranges = connection.execute(
            sa.text(
                "SELECT start_time, occupied_until FROM reservations WHERE status = 'confirmed' ORDER BY start_time"
            )
        ).all()
    assert len(ranges) == statuses.count(201)
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(ranges)), ranges


def test_windows_of_centuries_are_answered_without_walking_their_days(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1, opening_hours=WEEKDAYS_8_TO_18))
    always = {day: [{"start": "00:00", "end": "24:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    apply_event(room_event(2, opening_hours=always))
    apply_event(room_event(3))
    query = {"start": "1971-01-01T00:00:00Z", "end": "8999-12-31T00:00:00Z"}
    found = client.get("/availability/rooms", query_string=query, headers=employee)
    assert found.status_code == 200, found.get_json()
    assert [room["id"] for room in found.get_json()["items"]] == [2, 3]
    booked = post(client, employee, "2030-04-01T08:00:00Z", "8999-04-01T09:00:00Z")
    assert_policy_violation(booked, "end_time", "start_time")
