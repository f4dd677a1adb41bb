"""Check-in at the edges of its window, and the release of no-shows in rooms that require it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import sessionmaker

from reservation_service.checkin.service import release_no_shows
from servicekit_testing import TestKeys
from tests.conftest import room_event
from tests.test_reservations import at, book

ApplyEvent = Callable[..., bool]


def place(engine: sa.Engine, reservation_id: int, start: datetime, minutes: int = 60) -> None:
    """Move a reservation in time directly: the API rightly refuses to book in the past."""
    end = start + timedelta(minutes=minutes)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE reservations SET start_time = :s, end_time = :e, occupied_until = :e WHERE id = :id"),
            {"s": start, "e": end, "id": reservation_id},
        )


def check_in(client: FlaskClient, headers: dict[str, str], reservation_id: int) -> Any:
    return client.post(f"/reservations/{reservation_id}/check-in", headers=headers)


@pytest.mark.parametrize(
    ("requires", "offset_minutes", "status"),
    [
        (False, -16, 409),  # more than 15 minutes before the start
        (False, -14, 200),
        (False, 30, 200),  # during the meeting, in a room that does not require check-in
        (False, 59, 200),
        (True, 9, 200),  # within check_in_minutes (10) of the start
        (True, 11, 409),  # after it, in a room that requires check-in
    ],
)
def test_the_check_in_window(
    client: FlaskClient,
    employee: dict[str, str],
    apply_event: ApplyEvent,
    engine: sa.Engine,
    requires: bool,
    offset_minutes: int,
    status: int,
) -> None:
    apply_event(room_event(1, requires_check_in=requires, check_in_minutes=10))
    created = book(client, employee, 10, 11).get_json()
    place(engine, created["id"], datetime.now(UTC) - timedelta(minutes=offset_minutes))
    response = check_in(client, employee, created["id"])
    assert response.status_code == status, response.get_json()
    if status == 200:
        body = response.get_json()
        assert body["checked_in_at"] is not None
        again = check_in(client, employee, created["id"])
        assert again.status_code == 200 and again.get_json() == body  # unchanged


def test_check_in_raises_the_version_with_an_event(
    client: FlaskClient, employee: dict[str, str], room: int, engine: sa.Engine
) -> None:
    created = book(client, employee, 10, 11).get_json()
    place(engine, created["id"], datetime.now(UTC) + timedelta(minutes=5))
    assert check_in(client, employee, created["id"]).status_code == 200
    with engine.connect() as connection:
        payload = connection.scalar(
            sa.text("SELECT payload FROM outbox WHERE event_type = 'reservation_updated' ORDER BY id DESC LIMIT 1")
        )
    assert payload["version"] == 2 and payload["data"]["checked_in_at"] is not None


def test_only_the_owner_or_an_admin_checks_in(
    client: FlaskClient, employee: dict[str, str], admin: dict[str, str], keys: TestKeys, room: int, engine: sa.Engine
) -> None:
    created = book(client, employee, 10, 11).get_json()
    place(engine, created["id"], datetime.now(UTC))
    assert check_in(client, keys.headers(user_id=3), created["id"]).status_code == 404
    assert check_in(client, admin, created["id"]).status_code == 200
    assert check_in(client, employee, 999_999).status_code == 404


def test_cancelled_ones_cannot_check_in(
    client: FlaskClient, employee: dict[str, str], room: int, engine: sa.Engine
) -> None:
    created = book(client, employee, 10, 11).get_json()
    place(engine, created["id"], datetime.now(UTC))
    assert client.delete(f"/reservations/{created['id']}", headers=employee).status_code == 204
    assert check_in(client, employee, created["id"]).status_code == 409


def test_no_shows_are_released_and_the_rest_kept(
    client: FlaskClient, employee: dict[str, str], admin: dict[str, str], apply_event: ApplyEvent, engine: sa.Engine
) -> None:
    for room_id in (1, 3, 4):
        apply_event(room_event(room_id, requires_check_in=True, check_in_minutes=10))
    apply_event(room_event(2, requires_check_in=False))
    now = datetime.now(UTC)

    def book_in(room_id: int) -> dict[str, Any]:
        body = {"room_id": room_id, "start_time": at(10), "end_time": at(11)}
        return client.post("/reservations", json=body, headers=employee).get_json()  # type: ignore[no-any-return]

    no_show, other_room, checked_in, not_yet = (book_in(room_id) for room_id in (1, 2, 3, 4))
    place(engine, no_show["id"], now - timedelta(minutes=11))
    place(engine, checked_in["id"], now - timedelta(minutes=5), minutes=30)
    assert check_in(client, employee, checked_in["id"]).status_code == 200
    place(engine, checked_in["id"], now - timedelta(minutes=20), minutes=30)  # past its deadline, but checked in
    place(engine, not_yet["id"], now - timedelta(minutes=9))
    place(engine, other_room["id"], now - timedelta(minutes=30))
    assert release_no_shows(sessionmaker(engine)) == 1
    assert release_no_shows(sessionmaker(engine)) == 0  # once

    def status(reservation: dict[str, Any]) -> tuple[str, str | None]:
        body = client.get(f"/reservations/{reservation['id']}", headers=employee).get_json()
        return body["status"], body["cancel_reason"]

    assert status(no_show) == ("released", "not checked in")
    assert [status(r)[0] for r in (checked_in, not_yet, other_room)] == ["confirmed"] * 3
    # The slot is free again, and a released one behaves like a cancelled one.
    start = (now - timedelta(minutes=11) + timedelta(minutes=30)).isoformat()
    again = {"room_id": 1, "start_time": start, "end_time": (now + timedelta(hours=1)).isoformat()}
    assert client.post("/reservations", json=again, headers=admin).status_code == 201
    assert client.delete(f"/reservations/{no_show['id']}", headers=employee).status_code == 204
    assert client.patch(f"/reservations/{no_show['id']}", json={"purpose": "x"}, headers=employee).status_code == 409
    listed = client.get("/reservations?status=released", headers=employee).get_json()["items"]
    assert [r["id"] for r in listed] == [no_show["id"]]
    with engine.connect() as connection:
        payload = connection.scalar(
            sa.text("SELECT payload FROM outbox WHERE event_type = 'reservation_cancelled' ORDER BY id LIMIT 1")
        )
    assert payload["data"]["status"] == "released" and payload["data"]["cancelled_at"] is not None
