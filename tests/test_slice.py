"""The walking skeleton's slice, end to end through the gateway and Kafka."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from devstack.harness import Stack


def slot(day_offset: int, hour: int, hours: int = 1) -> tuple[str, str]:
    start = (datetime.now(UTC) + timedelta(days=day_offset)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return start.isoformat(), (start + timedelta(hours=hours)).isoformat()


def create_room(stack: Stack, admin: dict[str, str], name: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "capacity": 6, "equipment": "Projector, Whiteboard", **fields}
    response = requests.post(f"{stack.gateway}/rooms", json=body, headers=admin, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def book(stack: Stack, headers: dict[str, str], room_id: int, start: str, end: str) -> requests.Response:
    body = {"room_id": room_id, "start_time": start, "end_time": end, "purpose": "Sync"}
    return requests.post(f"{stack.gateway}/reservations", json=body, headers=headers, timeout=10)


def book_when_known(stack: Stack, headers: dict[str, str], room_id: int, start: str, end: str) -> requests.Response:
    """Retry while the room is still on its way through Kafka, as the contract allows clients to."""
    deadline = time.monotonic() + 30
    while True:
        response = book(stack, headers, room_id, start, end)
        if response.status_code != 422 or not response.json()["type"].endswith("/unknown-room"):
            return response
        assert time.monotonic() < deadline, "the room never reached the reservation service"
        time.sleep(0.1)


def test_rooms_without_token_is_401_problem(stack: Stack) -> None:
    response = requests.get(f"{stack.gateway}/rooms", timeout=10)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["status"] == 401


def test_create_book_and_conflict(stack: Stack, admin: dict[str, str], employee: dict[str, str]) -> None:
    room = create_room(stack, admin, "Slice Room")
    start, end = slot(2, 9)
    first = book_when_known(stack, admin, room["id"], start, end)
    assert first.status_code == 201, first.text
    overlapping_start, overlapping_end = slot(2, 9, hours=2)
    conflict = book(stack, admin, room["id"], overlapping_start, overlapping_end)
    assert conflict.status_code == 409
    assert conflict.headers["Content-Type"] == "application/problem+json"
    assert conflict.json()["conflicts"] == [{"id": first.json()["id"], "start_time": start, "end_time": end}]
    # Someone else sees the busy time, not whose booking it is.
    hidden = book(stack, employee, room["id"], overlapping_start, overlapping_end).json()["conflicts"]
    assert hidden == [{"start_time": start, "end_time": end}]


def test_rooms_reach_the_reservation_service_only_through_kafka(stack: Stack, admin: dict[str, str]) -> None:
    stack.stop("room-relay")
    try:
        room = create_room(stack, admin, "Relay Room")
        start, end = slot(3, 10)
        for _ in range(10):  # two seconds: far beyond the propagation target, yet refused
            refused = book(stack, admin, room["id"], start, end)
            assert refused.status_code == 422
            assert refused.json()["type"].endswith("/unknown-room")
            time.sleep(0.2)
    finally:
        stack.start("room-relay")
    assert book_when_known(stack, admin, room["id"], start, end).status_code == 201


def test_request_id_travels_with_the_event(stack: Stack, admin: dict[str, str]) -> None:
    request_id = f"trace-{time.monotonic_ns()}"
    response = requests.post(
        f"{stack.gateway}/rooms",
        json={"name": f"Traced {request_id}", "capacity": 2},
        headers={**admin, "X-Request-ID": request_id},
        timeout=10,
    )
    assert response.headers["X-Request-ID"] == request_id
    deadline = time.monotonic() + 30
    while request_id not in stack.log("reservation-consumer").read_text():
        assert time.monotonic() < deadline, "the consumer never logged the event's request id"
        time.sleep(0.2)
