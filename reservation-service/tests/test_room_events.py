"""The room replica, fed by room events: applied once, stale versions ignored, deletions cancel bookings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from reservation_service.replica.models import Room, RoomReplica
from servicekit.db import db
from tests.conftest import room_event, user_deleted
from tests.test_changes import backdate
from tests.test_reservations import book


def replica(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text("SELECT id, name, version, is_deleted FROM rooms"))]


def test_created_then_updated(apply_event: Callable[..., bool], engine: sa.Engine) -> None:
    apply_event(room_event(7))
    apply_event(room_event(7, "room_updated", version=2, name="Renamed"))
    assert replica(engine) == [(7, "Renamed", 2, False)]


def test_a_room_as_requests_read_it_carries_every_column(apply_event: Callable[..., bool], app: Flask) -> None:
    """Room (the plain value requests read) and the replica's table must not drift apart."""
    assert [field.name for field in fields(Room)] == list(RoomReplica.__table__.columns.keys())
    apply_event(room_event(7, buffer_minutes=15, equipment=["projector"]))
    with app.app_context():
        room = Room.find(db.session, 7)
        assert Room.find(db.session, 8) is None
    assert room is not None and room.bookable
    assert (room.id, room.buffer_minutes, room.equipment, room.timezone) == (7, 15, ["projector"], "UTC")


def test_redelivered_event_has_no_second_effect(apply_event: Callable[..., bool], engine: sa.Engine) -> None:
    event = room_event(7)
    assert apply_event(event) is True
    assert apply_event(event) is False
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM processed_events")) == 1


def test_stale_version_is_ignored(apply_event: Callable[..., bool], engine: sa.Engine) -> None:
    apply_event(room_event(7, "room_updated", version=3, name="Newest"))
    apply_event(room_event(7, "room_updated", version=2, name="Older"))
    assert replica(engine) == [(7, "Newest", 3, False)]


def test_deleted_room_cancels_pending_reservations(
    client: FlaskClient, employee: dict[str, str], apply_event: Callable[..., bool], engine: sa.Engine
) -> None:
    apply_event(room_event(1))
    created = book(client, employee, 10, 11).get_json()
    apply_event(room_event(1, "room_deleted", version=2))
    assert replica(engine) == [(1, "Room 1", 2, True)]
    reservation = client.get(f"/reservations/{created['id']}", headers=employee).get_json()
    assert reservation["status"] == "cancelled" and reservation["cancel_reason"] == "room deleted"
    with engine.connect() as connection:
        types = connection.scalars(sa.text("SELECT event_type FROM outbox ORDER BY id")).all()
    assert types == ["reservation_created", "reservation_cancelled"]
    assert book(client, employee, 12, 13).get_json()["type"].endswith("/unknown-room")


def test_cascades_cancel_only_unfinished_reservations_once(
    client: FlaskClient,
    employee: dict[str, str],
    admin: dict[str, str],
    apply_event: Callable[..., bool],
    engine: sa.Engine,
) -> None:
    apply_event(room_event(1))
    future = book(client, employee, 10, 11).get_json()
    past = book(client, employee, 12, 13).get_json()
    now = datetime.now(UTC)
    backdate(engine, past["id"], now - timedelta(hours=3), now - timedelta(hours=2))
    event = user_deleted(2)
    assert apply_event(event, "user_events") is True
    assert apply_event(event, "user_events") is False  # delivered twice, applied once
    assert client.get("/reservations", headers=employee).status_code == 401  # a deleted user's token is refused
    listed = client.get("/reservations?user_id=2", headers=admin).get_json()["items"]
    statuses = {r["id"]: r["status"] for r in listed}
    assert statuses == {future["id"]: "cancelled", past["id"]: "confirmed"}
    with engine.connect() as connection:
        types = connection.scalars(sa.text("SELECT event_type FROM outbox ORDER BY id")).all()
    assert types == ["reservation_created", "reservation_created", "reservation_cancelled"]


def test_stale_update_after_newer_changes_nothing(apply_event: Callable[..., bool], engine: sa.Engine) -> None:
    apply_event(room_event(7))
    apply_event(room_event(7, "room_updated", version=3, capacity=20))
    apply_event(room_event(7, "room_updated", version=2, capacity=2))
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT capacity, version FROM rooms")).one() == (20, 3)
