"""Booking through the gateway: races settled by PostgreSQL, daylight-saving days, cascades through Kafka."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from devstack.harness import Stack
from tests.test_slice import book, book_when_known, create_room

RACERS = 50


def race(stack: Stack, headers: dict[str, str], bodies: list[dict[str, Any]]) -> list[requests.Response]:
    """Send every body at once: threads wait at a barrier and are released together."""
    barrier = threading.Barrier(len(bodies))
    responses: list[requests.Response | None] = [None] * len(bodies)

    def run(index: int) -> None:
        session = requests.Session()
        barrier.wait()
        responses[index] = session.post(
            f"{stack.gateway}/reservations", json=bodies[index], headers=headers, timeout=60
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(response is not None for response in responses)
    return [r for r in responses if r is not None]


def confirmed(stack: Stack, admin: dict[str, str], room_id: int) -> list[dict[str, Any]]:
    url = f"{stack.gateway}/reservations?room_id={room_id}&status=confirmed&per_page=200"
    return requests.get(url, headers=admin, timeout=10).json()["items"]  # type: ignore[no-any-return]


def ready_room(stack: Stack, admin: dict[str, str], name: str, **fields: Any) -> dict[str, Any]:
    """A room that has reached the reservation service (a booking of a far-away slot, then cancelled)."""
    room = create_room(stack, admin, name, **fields)
    start = (datetime.now(UTC) + timedelta(days=300)).replace(microsecond=0)
    probe = book_when_known(stack, admin, room["id"], start.isoformat(), (start + timedelta(hours=1)).isoformat())
    assert probe.status_code == 201, probe.text
    requests.delete(f"{stack.gateway}/reservations/{probe.json()['id']}", headers=admin, timeout=10)
    return room


def test_fifty_clients_race_for_one_slot_and_exactly_one_wins(stack: Stack, admin: dict[str, str]) -> None:
    room = ready_room(stack, admin, "Race Room", capacity=50)
    start = (datetime.now(UTC) + timedelta(days=5)).replace(hour=14, minute=0, second=0, microsecond=0)
    body = {
        "room_id": room["id"],
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=1)).isoformat(),
    }
    responses = race(stack, admin, [body] * RACERS)
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (RACERS - 1)
    assert [r["id"] for r in confirmed(stack, admin, room["id"])] == [
        next(r for r in responses if r.status_code == 201).json()["id"]
    ]


def test_partially_overlapping_racers_never_both_win(stack: Stack, admin: dict[str, str]) -> None:
    room = ready_room(stack, admin, "Overlap Race Room", capacity=50)
    base = (datetime.now(UTC) + timedelta(days=6)).replace(hour=8, minute=0, second=0, microsecond=0)
    bodies = [
        {
            "room_id": room["id"],
            "start_time": (base + timedelta(minutes=20 * i)).isoformat(),
            "end_time": (base + timedelta(minutes=20 * i + 60)).isoformat(),
        }
        for i in range(RACERS)
    ]
    responses = race(stack, admin, bodies)
    assert {r.status_code for r in responses} <= {201, 409}
    winners = sorted(
        (datetime.fromisoformat(r.json()["start_time"]), datetime.fromisoformat(r.json()["end_time"]))
        for r in responses
        if r.status_code == 201
    )
    assert winners, "someone must win"
    for (_, previous_end), (next_start, _) in itertools.pairwise(winners):
        assert previous_end <= next_start
    assert len(confirmed(stack, admin, room["id"])) == len(winners)


def test_berlin_room_on_daylight_saving_days(stack: Stack, admin: dict[str, str]) -> None:
    room = ready_room(stack, admin, "Berlin DST Room", timezone="Europe/Berlin")
    year = datetime.now(UTC).year + 1
    spring = datetime(year, 3, 31, tzinfo=UTC)
    spring = spring - timedelta(days=(spring.weekday() + 1) % 7)  # the last Sunday of March
    autumn = datetime(year, 10, 31, tzinfo=UTC)
    autumn = autumn - timedelta(days=(autumn.weekday() + 1) % 7)  # the last Sunday of October
    for day, hours in ((spring, 23), (autumn, 25)):
        url = f"{stack.gateway}/availability?room_id={room['id']}&date={day.date().isoformat()}"
        body = requests.get(url, headers=admin, timeout=10).json()
        (free,) = body["free"]
        length = datetime.fromisoformat(free["end_time"]) - datetime.fromisoformat(free["start_time"])
        assert length == timedelta(hours=hours)
    gap = book(stack, admin, room["id"], f"{spring.date()}T02:30:00", f"{spring.date()}T03:30:00")
    assert gap.status_code == 422


def test_update_cancel_and_privacy_through_the_gateway(
    stack: Stack, admin: dict[str, str], employee: dict[str, str]
) -> None:
    room = ready_room(stack, admin, "Change Room")
    start = (datetime.now(UTC) + timedelta(days=7)).replace(hour=9, minute=0, second=0, microsecond=0)
    created = book(stack, employee, room["id"], start.isoformat(), (start + timedelta(hours=1)).isoformat()).json()
    url = f"{stack.gateway}/reservations/{created['id']}"
    moved = requests.put(url, json={"end_time": (start + timedelta(hours=2)).isoformat()}, headers=employee, timeout=10)
    assert moved.status_code == 200
    assert requests.get(url, headers=admin, timeout=10).status_code == 200
    assert requests.delete(url, headers=employee, timeout=10).status_code == 204
    assert requests.get(url, headers=employee, timeout=10).json()["status"] == "cancelled"
    assert requests.patch(url, json={"purpose": "again"}, headers=employee, timeout=10).status_code == 409


def test_deleting_a_room_cancels_its_pending_reservations_through_kafka(stack: Stack, admin: dict[str, str]) -> None:
    room = ready_room(stack, admin, "Doomed Room")
    start = (datetime.now(UTC) + timedelta(days=8)).replace(hour=9, minute=0, second=0, microsecond=0)
    created = book(stack, admin, room["id"], start.isoformat(), (start + timedelta(hours=1)).isoformat()).json()
    assert requests.delete(f"{stack.gateway}/rooms/{room['id']}", headers=admin, timeout=10).status_code == 204
    deadline = time.monotonic() + 30
    while True:
        reservation = requests.get(f"{stack.gateway}/reservations/{created['id']}", headers=admin, timeout=10).json()
        if reservation["status"] == "cancelled":
            break
        assert time.monotonic() < deadline, "the room's deletion never reached the reservation service"
        time.sleep(0.2)
    assert reservation["cancel_reason"] == "room deleted"
