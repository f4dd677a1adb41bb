"""The room catalogue through the gateway, and its changes reaching the reservation service through Kafka."""

from __future__ import annotations

import time
import uuid
from typing import Any

import requests

from devstack.harness import Stack
from tests.test_slice import book_when_known, create_room, slot


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def rooms_url(stack: Stack, room_id: int | None = None) -> str:
    return f"{stack.gateway}/rooms" + (f"/{room_id}" if room_id is not None else "")


def book(stack: Stack, headers: dict[str, str], room_id: int, attendees: int = 1) -> requests.Response:
    start, end = slot(4, 10)
    body = {"room_id": room_id, "start_time": start, "end_time": end, "attendees": attendees}
    return requests.post(f"{stack.gateway}/reservations", json=body, headers=headers, timeout=10)


def refused_eventually(stack: Stack, headers: dict[str, str], room_id: int, attendees: int = 1) -> dict[str, Any]:
    """Book until the reservation service refuses with a 422 (the change has arrived); its problem body.

    Until then bookings still succeed, and each is cancelled at once so the slot stays free for the next try.
    """
    deadline = time.monotonic() + 30
    while True:
        response = book(stack, headers, room_id, attendees)
        if response.status_code == 422:
            return response.json()  # type: ignore[no-any-return]
        assert response.status_code == 201, response.text
        cancel = requests.delete(f"{stack.gateway}/reservations/{response.json()['id']}", headers=headers, timeout=10)
        assert cancel.status_code == 204
        assert time.monotonic() < deadline, "the room's change never reached the reservation service"
        time.sleep(0.1)


def known(stack: Stack, headers: dict[str, str], room_id: int) -> None:
    """Wait until the reservation service knows the room, leaving no booking behind."""
    start, end = slot(5, 10)
    response = book_when_known(stack, headers, room_id, start, end)
    assert response.status_code == 201, response.text
    requests.delete(f"{stack.gateway}/reservations/{response.json()['id']}", headers=headers, timeout=10)


def test_filters_through_the_gateway(stack: Stack, admin: dict[str, str], employee: dict[str, str]) -> None:
    building = unique("Filter House")  # scopes every query to this test's rooms: the stack is shared
    small = create_room(stack, admin, unique("Nook"), capacity=4, equipment="Projector", building=building, floor="1")
    big = create_room(
        stack,
        admin,
        unique("Hall"),
        capacity=10,
        equipment="projector, whiteboard",
        building=building,
        floor="2",
        description="Has a VIEW of the river",
    )
    closed = create_room(stack, admin, unique("Shed"), capacity=20, building=building, floor="2", is_active=False)

    def ids(**params: Any) -> list[int]:
        response = requests.get(
            rooms_url(stack), params={"building": building.upper(), **params}, headers=employee, timeout=10
        )
        assert response.status_code == 200, response.text
        return [room["id"] for room in response.json()["items"]]

    assert ids() == [small["id"], big["id"]]
    assert ids(min_capacity=5) == [big["id"]]
    assert ids(equipment="PROJECTOR") == [small["id"], big["id"]]
    assert ids(equipment="whiteboard,projector") == [big["id"]]
    assert ids(floor="2") == [big["id"]]
    assert ids(floor="2", is_active="false") == [closed["id"]]
    assert ids(q="river view") == []
    assert ids(q="view of") == [big["id"]]
    assert ids(q="view", min_capacity=11) == []
    for bad in ({"min_capacity": "abc"}, {"min_capacity": "0"}, {"per_page": "201"}):
        response = requests.get(rooms_url(stack), params=bad, headers=employee, timeout=10)
        assert response.status_code == 422
        assert response.headers["Content-Type"] == "application/problem+json"
        assert [error["field"] for error in response.json()["errors"]] == list(bad)


def test_update_through_the_gateway(stack: Stack, admin: dict[str, str], employee: dict[str, str]) -> None:
    room = create_room(stack, admin, unique("Studio"), capacity=6)
    other = create_room(stack, admin, unique("Loft"))
    url = rooms_url(stack, room["id"])
    put = requests.put(url, json={"capacity": 3}, headers=admin, timeout=10)
    assert put.status_code == 200 and put.json()["capacity"] == 3
    patch = requests.patch(url, json={"equipment": "TV, Phone", "floor": "B1"}, headers=admin, timeout=10)
    assert patch.status_code == 200
    assert requests.get(url, headers=employee, timeout=10).json() == {
        **room,
        "capacity": 3,
        "equipment": ["tv", "phone"],
        "floor": "B1",
        "updated_at": patch.json()["updated_at"],
    }
    taken = requests.patch(url, json={"name": other["name"].upper()}, headers=admin, timeout=10)
    assert taken.status_code == 409 and taken.headers["Content-Type"] == "application/problem+json"
    for body in ({}, {"id": 5}, {"capacity": 0}, {"colour": "red"}):
        assert requests.put(url, json=body, headers=admin, timeout=10).status_code == 422, body
    for method in ("put", "patch", "delete"):
        assert requests.request(method, url, json={"capacity": 9}, headers=employee, timeout=10).status_code == 403
    assert requests.get(url, headers=employee, timeout=10).json()["capacity"] == 3


def test_delete_through_the_gateway_frees_the_name(stack: Stack, admin: dict[str, str]) -> None:
    name = unique("Pod")
    room = create_room(stack, admin, name)
    deleted = requests.delete(rooms_url(stack, room["id"]), headers=admin, timeout=10)
    assert deleted.status_code == 204
    gone = requests.get(rooms_url(stack, room["id"]), headers=admin, timeout=10)
    assert gone.status_code == 404 and gone.headers["Content-Type"] == "application/problem+json"
    assert requests.delete(rooms_url(stack, room["id"]), headers=admin, timeout=10).status_code == 404
    assert create_room(stack, admin, name.lower())["id"] != room["id"]


def test_lowered_capacity_reaches_the_reservation_service(stack: Stack, admin: dict[str, str]) -> None:
    room = create_room(stack, admin, unique("Shrinking"), capacity=6)
    known(stack, admin, room["id"])
    assert requests.patch(rooms_url(stack, room["id"]), json={"capacity": 2}, headers=admin, timeout=10).ok
    problem = refused_eventually(stack, admin, room["id"], attendees=4)
    assert [error["field"] for error in problem["errors"]] == ["attendees"]
    assert book(stack, admin, room["id"], attendees=2).status_code == 201


def test_deactivated_room_becomes_unknown_to_bookings_and_comes_back(stack: Stack, admin: dict[str, str]) -> None:
    room = create_room(stack, admin, unique("Resting"))
    known(stack, admin, room["id"])
    url = rooms_url(stack, room["id"])
    assert requests.put(url, json={"is_active": False}, headers=admin, timeout=10).ok
    assert refused_eventually(stack, admin, room["id"])["type"].endswith("/unknown-room")
    assert requests.patch(url, json={"is_active": True}, headers=admin, timeout=10).ok
    known(stack, admin, room["id"])


def test_deleted_room_becomes_unknown_to_bookings(stack: Stack, admin: dict[str, str]) -> None:
    name = unique("Vanishing")
    room = create_room(stack, admin, name)
    known(stack, admin, room["id"])
    assert requests.delete(rooms_url(stack, room["id"]), headers=admin, timeout=10).status_code == 204
    assert refused_eventually(stack, admin, room["id"])["type"].endswith("/unknown-room")
    # The name's new room is a new aggregate, bookable on its own.
    successor = create_room(stack, admin, name)
    known(stack, admin, successor["id"])
    assert book(stack, admin, room["id"]).status_code == 422
