"""Recurring meetings: expansion in the room's zone (DST, month ends), fail or skip on clashes and policies,
the quota, changing and cancelling the rest of a series."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from reservation_service import create_app
from reservation_service.config import Settings
from servicekit_testing import TestKeys
from tests.conftest import room_event

ApplyEvent = Callable[..., bool]


def create(client: FlaskClient, headers: dict[str, str], start: str, end: str, rule: str, **fields: Any) -> Any:
    body = {"room_id": 1, "start_time": start, "end_time": end, "rrule": rule, "purpose": "Weekly", **fields}
    return client.post("/reservation-series", json=body, headers=headers)


def starts(body: dict[str, Any]) -> list[str]:
    return [reservation["start_time"] for reservation in body["reservations"]]


def count_reservations(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(sa.text("SELECT count(*) FROM reservations")) or 0)


def test_a_weekly_meeting_keeps_its_wall_clock_time_across_dst(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1, timezone="Europe/Berlin"))
    response = create(client, employee, "2030-03-19T10:00:00", "2030-03-19T11:00:00", "RRULE:FREQ=WEEKLY;COUNT=4")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"/reservation-series/{body['id']}"
    assert starts(body) == [
        "2030-03-19T10:00:00+01:00",
        "2030-03-26T10:00:00+01:00",
        "2030-04-02T10:00:00+02:00",
        "2030-04-09T10:00:00+02:00",
    ]
    assert [r["end_time"][11:16] for r in body["reservations"]] == ["11:00"] * 4
    assert body["rrule"] == "FREQ=WEEKLY;COUNT=4" and body["skipped"] == []
    assert {r["series_id"] for r in body["reservations"]} == {body["id"]}
    assert body["start_time"] == "2030-03-19T10:00:00+01:00"


def test_monthly_on_the_31st_skips_months_without_one(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1))
    response = create(client, employee, "2030-01-31T09:00:00Z", "2030-01-31T10:00:00Z", "FREQ=MONTHLY;COUNT=4")
    assert starts(response.get_json()) == [
        "2030-01-31T09:00:00+00:00",
        "2030-03-31T09:00:00+00:00",
        "2030-05-31T09:00:00+00:00",
        "2030-07-31T09:00:00+00:00",
    ]


def test_an_occurrence_in_a_dst_gap_moves_forward_by_the_gap(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1, timezone="Europe/Berlin"))
    response = create(client, employee, "2030-03-30T02:30:00", "2030-03-30T03:30:00", "FREQ=DAILY;COUNT=3")
    assert response.status_code == 201, response.get_json()
    assert starts(response.get_json()) == [
        "2030-03-30T02:30:00+01:00",
        "2030-03-31T03:30:00+02:00",
        "2030-04-01T02:30:00+02:00",
    ]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=DAILY;UNTIL=20300503", 3),  # a date is inclusive
        ("FREQ=DAILY;UNTIL=20300503T090000Z", 3),  # an instant too, to the second
        ("FREQ=DAILY;UNTIL=20300503T085959Z", 2),
        ("FREQ=WEEKLY;BYDAY=WE,FR;COUNT=5", 5),
        ("FREQ=DAILY;INTERVAL=2;COUNT=3", 3),
        ("FREQ=MONTHLY;BYMONTHDAY=1,15;COUNT=4", 4),
        ("FREQ=MONTHLY;BYDAY=1WE;COUNT=2", 2),
    ],
)
def test_rules_the_api_takes(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent, rule: str, expected: int
) -> None:
    apply_event(room_event(1))
    response = create(client, employee, "2030-05-01T09:00:00Z", "2030-05-01T10:00:00Z", rule)  # a Wednesday
    assert response.status_code == 201, response.get_json()
    assert len(response.get_json()["reservations"]) == expected


@pytest.mark.parametrize(
    "rule",
    [
        "",
        "FREQ=YEARLY;COUNT=2",
        "FREQ=HOURLY;COUNT=2",
        "FREQ=WEEKLY",
        "FREQ=WEEKLY;COUNT=2;UNTIL=20300601",
        "FREQ=WEEKLY;COUNT=366",
        "FREQ=DAILY;UNTIL=20320101",
        "FREQ=WEEKLY;COUNT=0",
        "FREQ=WEEKLY;INTERVAL=0;COUNT=2",
        "FREQ=WEEKLY;COUNT=2;BYHOUR=9",
        "FREQ=WEEKLY;COUNT=2;COUNT=3",
        "FREQ=WEEKLY;BYDAY=TH;COUNT=2",  # the first occurrence (a Wednesday) does not match
        "FREQ=WEEKLY;BYDAY=XX;COUNT=2",
        "FREQ=WEEKLY;BYDAY=1WE;COUNT=2",
        "FREQ=MONTHLY;BYMONTHDAY=32;COUNT=2",
        "FREQ=DAILY;UNTIL=20300230",
        "FREQ=DAILY;UNTIL=2030-06-01",
        "FREQ=DAILY;COUNT=\u0663",
        "nonsense",
    ],
)
def test_rules_outside_the_subset_are_422_on_rrule(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent, engine: sa.Engine, rule: str
) -> None:
    apply_event(room_event(1))
    response = create(client, employee, "2030-05-01T09:00:00Z", "2030-05-01T10:00:00Z", rule)
    assert response.status_code == 422, response.get_json()
    assert [error["field"] for error in response.get_json()["errors"]] == ["rrule"], response.get_json()
    assert count_reservations(engine) == 0


def test_fail_books_nothing_and_skip_books_the_rest_on_one_clash(
    client: FlaskClient, employee: dict[str, str], admin: dict[str, str], apply_event: ApplyEvent, engine: sa.Engine
) -> None:
    apply_event(room_event(1))
    taken = client.post(
        "/reservations",
        json={"room_id": 1, "start_time": "2030-05-08T09:30:00Z", "end_time": "2030-05-08T10:30:00Z"},
        headers=admin,
    ).get_json()
    rule = "FREQ=WEEKLY;COUNT=3"
    failed = create(client, employee, "2030-05-01T09:00:00Z", "2030-05-01T10:00:00Z", rule)
    assert failed.status_code == 409, failed.get_json()
    assert failed.get_json()["conflicts"] == [
        {
            "start_time": "2030-05-08T09:00:00+00:00",
            "end_time": "2030-05-08T10:00:00+00:00",
            "conflicts": [{"start_time": "2030-05-08T09:30:00+00:00", "end_time": "2030-05-08T10:30:00+00:00"}],
        }
    ]
    assert count_reservations(engine) == 1
    skipped = create(client, employee, "2030-05-01T09:00:00Z", "2030-05-01T10:00:00Z", rule, on_conflict="skip")
    assert skipped.status_code == 201, skipped.get_json()
    body = skipped.get_json()
    assert starts(body) == ["2030-05-01T09:00:00+00:00", "2030-05-15T09:00:00+00:00"]
    assert [(s["start_time"], s["reason"]) for s in body["skipped"]] == [("2030-05-08T09:00:00+00:00", "conflict")]
    assert client.get(f"/reservation-series/{body['id']}", headers=employee).get_json()["skipped"] == body["skipped"]
    admin_view = create(client, admin, "2030-05-08T09:30:00Z", "2030-05-08T10:30:00Z", "FREQ=DAILY;COUNT=1")
    assert admin_view.status_code == 409 and admin_view.get_json()["conflicts"][0]["conflicts"][0]["id"] == taken["id"]


def test_skip_with_nothing_bookable_answers_as_fail(
    client: FlaskClient, employee: dict[str, str], admin: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1))
    body = {"room_id": 1, "start_time": "2030-05-01T09:00:00Z", "end_time": "2030-05-01T10:00:00Z"}
    assert client.post("/reservations", json=body, headers=admin).status_code == 201
    response = create(
        client, employee, "2030-05-01T09:00:00Z", "2030-05-01T10:00:00Z", "FREQ=DAILY;COUNT=1", on_conflict="skip"
    )
    assert response.status_code == 409


def test_occurrences_beyond_the_horizon_fail_or_are_skipped(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent, engine: sa.Engine
) -> None:
    apply_event(room_event(1, max_days_ahead=30))
    # One to two days ahead whatever the time of day: the 5th weekly occurrence lies within 30 days, the 6th not.
    first = (datetime.now(UTC) + timedelta(days=1, hours=1)).replace(minute=0, second=0, microsecond=0)
    start, end = first.isoformat(), (first + timedelta(hours=1)).isoformat()
    failed = create(client, employee, start, end, "FREQ=WEEKLY;COUNT=8")
    assert failed.status_code == 422 and failed.get_json()["type"].endswith("/policy-violation")
    assert {error["field"] for error in failed.get_json()["errors"]} == {"start_time"}
    assert all("occurrence" in error for error in failed.get_json()["errors"])
    assert count_reservations(engine) == 0
    skipped = create(client, employee, start, end, "FREQ=WEEKLY;COUNT=8", on_conflict="skip").get_json()
    assert len(skipped["reservations"]) == 5 and [s["reason"] for s in skipped["skipped"]] == ["policy"] * 3


def test_the_quota_counts_every_occurrence(
    settings: Settings, keys: TestKeys, apply_event: ApplyEvent, engine: sa.Engine
) -> None:
    client = create_app(dataclasses.replace(settings, max_upcoming_reservations=3)).test_client()
    apply_event(room_event(1))
    headers = keys.headers(user_id=2)
    refused = create(client, headers, "2030-05-01T09:00:00Z", "2030-05-01T10:00:00Z", "FREQ=DAILY;COUNT=4")
    assert refused.status_code == 422 and refused.get_json()["type"].endswith("/quota-exceeded")
    assert count_reservations(engine) == 0
    assert (
        create(client, headers, "2030-05-01T09:00:00Z", "2030-05-01T10:00:00Z", "FREQ=DAILY;COUNT=3").status_code == 201
    )


def test_change_and_cancel_the_rest_of_a_series(
    client: FlaskClient, employee: dict[str, str], keys: TestKeys, apply_event: ApplyEvent, engine: sa.Engine
) -> None:
    apply_event(room_event(1))
    first = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    body = create(
        client, employee, first.isoformat(), (first + timedelta(hours=1)).isoformat(), "FREQ=DAILY;COUNT=5"
    ).get_json()
    ids = [r["id"] for r in body["reservations"]]
    path = f"/reservation-series/{body['id']}"
    assert client.delete(f"/reservations/{ids[0]}", headers=employee).status_code == 204  # one alone
    changed = client.patch(path, json={"purpose": "Renamed", "attendees": 3}, headers=employee)
    assert changed.status_code == 200
    assert [(r["purpose"], r["status"]) for r in changed.get_json()["reservations"]] == [
        ("Weekly", "cancelled"),
        *[("Renamed", "confirmed")] * 4,
    ]
    assert client.patch(path, json={"attendees": 9}, headers=employee).status_code == 422  # the room holds 8
    assert client.patch(path, json={}, headers=employee).status_code == 422
    stranger = keys.headers(user_id=3)
    assert client.get(path, headers=stranger).status_code == 404
    assert client.delete(path, headers=stranger).status_code == 404
    since = (first + timedelta(days=3)).isoformat()
    assert client.delete(path, query_string={"from": since}, headers=employee).status_code == 204
    statuses = [r["status"] for r in client.get(path, headers=employee).get_json()["reservations"]]
    assert statuses == ["cancelled", "confirmed", "confirmed", "cancelled", "cancelled"]
    assert client.delete(path, query_string={"from": "2030-01-01T00:00:00"}, headers=employee).status_code == 422
    assert client.delete(path, query_string={"from": "2020-01-01T00:00:00Z"}, headers=employee).status_code == 204
    statuses = [r["status"] for r in client.get(path, headers=employee).get_json()["reservations"]]
    assert statuses == ["cancelled"] * 5  # a past `from` means now
    with engine.connect() as connection:
        events = connection.scalars(sa.text("SELECT event_type FROM outbox ORDER BY id")).all()
    assert events.count("reservation_created") == 5 and events.count("reservation_updated") == 4
    assert events.count("reservation_cancelled") == 5
