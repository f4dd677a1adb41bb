"""Writing a booking: the row under the room's lock and the exclusion constraint, and its event."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from psycopg2.errors import ExclusionViolation
from sqlalchemy.orm import Session

from reservation_service.config import SERVICE_NAME
from reservation_service.replica.models import RoomReplica
from reservation_service.reservations import rules
from reservation_service.reservations.locks import NEXT_RESERVATION_ID, ROOM_LOCK_KEY
from reservation_service.reservations.models import CONFIRMED, Reservation
from reservation_service.times import in_zone
from servicekit.auth import Principal
from servicekit.db import utcnow
from servicekit.outbox import Aggregate, EventStream, OutboxEvent
from servicekit.problems import Problem

EVENTS = EventStream(producer=SERVICE_NAME, topic="reservation_events")
# The booking path's statements, built once (building and cache-keying a statement costs more CPU than
# sending it).
_TAKE_ROOM = sa.select(sa.func.pg_advisory_xact_lock(ROOM_LOCK_KEY))
_TAKE_ROOM_NEW_ID = sa.select(sa.func.pg_advisory_xact_lock(ROOM_LOCK_KEY), NEXT_RESERVATION_ID)
_OVERLAPPING = (
    sa.select(Reservation.id, Reservation.user_id, Reservation.start_time, Reservation.end_time)
    .where(Reservation.room_id == sa.bindparam("room_id"), Reservation.status == CONFIRMED)
    .where(Reservation.start_time < sa.bindparam("occupied_until"), Reservation.occupied_until > sa.bindparam("start"))
    .where(Reservation.id != sa.bindparam("excluding"))
    .order_by(Reservation.start_time)
)
_ROW_COLUMNS = [column.key for column in Reservation.__table__.columns]
_EVENT_COLUMNS = ["event_id", "topic", "key", "event_type", "payload", "created_at"]
# The row and its event in one statement: a data-modifying CTE runs whether or not the outer statement reads it.
_INSERT_BOOKING = (
    sa.insert(OutboxEvent.__table__)
    .values({name: sa.bindparam(f"event_{name}") for name in _EVENT_COLUMNS})
    .add_cte(
        sa.insert(Reservation.__table__)
        .values({name: sa.bindparam(f"row_{name}") for name in _ROW_COLUMNS})
        .cte("booked")
    )
)


def to_dict(reservation: Reservation | sa.Row[Any], zone_name: str) -> dict[str, Any]:
    """The API form: instants with the room's UTC offset at that instant (from the object, or from a row of
    the table's columns)."""

    def instant(value: datetime | None) -> str | None:
        return in_zone(value, zone_name) if value is not None else None

    return {
        "id": reservation.id,
        "room_id": reservation.room_id,
        "user_id": reservation.user_id,
        "start_time": instant(reservation.start_time),
        "end_time": instant(reservation.end_time),
        "purpose": reservation.purpose,
        "attendees": reservation.attendees,
        "status": reservation.status,
        "created_at": instant(reservation.created_at),
        "updated_at": instant(reservation.updated_at),
        "cancelled_at": instant(reservation.cancelled_at),
        "cancel_reason": reservation.cancel_reason,
        "series_id": reservation.series_id,
        "checked_in_at": instant(reservation.checked_in_at),
    }


def publish(session: Session, reservation: Reservation, event_type: str, zone_name: str) -> None:
    EVENTS.publish(session, reservation, event_type, lambda: to_dict(reservation, zone_name))


def conflicts(
    session: Session,
    *,
    room: RoomReplica,
    start: datetime,
    occupied_until: datetime,
    viewer: Principal,
    excluding: int | None = None,
) -> list[dict[str, Any]]:
    """The confirmed reservations whose occupied range overlaps [start, occupied_until): those the exclusion
    constraint would refuse. Ids only where the viewer may see them."""
    parameters = {"room_id": room.id, "start": start, "occupied_until": occupied_until, "excluding": excluding or 0}
    out = []
    for row in session.connection().execute(_OVERLAPPING, parameters):
        item: dict[str, Any] = {
            "start_time": in_zone(row.start_time, room.timezone),
            "end_time": in_zone(row.end_time, room.timezone),
        }
        if viewer.is_admin or row.user_id == viewer.user_id:
            item = {"id": row.id, **item}
        out.append(item)
    return out


def take_room(session: Session, room_id: int, *, new_id: bool = False) -> int | None:
    """Writes to one room take turns until commit: after this, no other booking of the room is in flight, so
    what `conflicts` finds is exactly what the exclusion constraint would refuse (and the constraint never
    has to wait on another writer's row: chains of overlapping inserts used to deadlock inside it). With
    `new_id`, the same round trip also draws the id of a reservation about to be inserted."""
    row = session.connection().execute(_TAKE_ROOM_NEW_ID if new_id else _TAKE_ROOM, {"room_id": room_id}).one()
    return int(row[1]) if new_id else None


def _refuse(found: list[dict[str, Any]]) -> Problem:
    return Problem(
        409,
        "The room is already booked for part of this time.",
        slug="reservation-conflict",
        title="Reservation conflict",
        conflicts=found,
    )


@contextmanager
def _constraint_as_conflict() -> Iterator[None]:
    """The exclusion constraint stays the last word; it cannot fire while every writer takes the room first."""
    try:
        yield
    except sa.exc.IntegrityError as error:
        if not isinstance(error.orig, ExclusionViolation):
            raise
        raise _refuse([]) from None


def write_change(
    session: Session, reservation: Reservation, values: dict[str, Any], room: RoomReplica, viewer: Principal
) -> None:
    """Apply a change to an existing reservation; 409 listing the conflicts if its new range is taken."""
    take_room(session, room.id)
    found = conflicts(
        session,
        room=room,
        start=values["start_time"],
        occupied_until=values["occupied_until"],
        viewer=viewer,
        excluding=reservation.id,
    )
    if found:
        raise _refuse(found)
    for key, value in values.items():
        setattr(reservation, key, value)
    with _constraint_as_conflict():
        session.flush()


def book(
    *,
    session: Session,
    room: RoomReplica,
    window: rules.Window,
    values: dict[str, Any],
    user: Principal,
    series: Aggregate | None = None,
    new_id: int | None = None,
) -> Reservation:
    """Write one checked booking and its event: three statements (the room's lock with a new id, the
    overlap check, one INSERT of the row and its outbox event); 409 listing the conflicts if the room is taken.
    With `new_id`, the caller has taken the room already and drawn the id (access.hold_for_booking)."""
    occupied_until = window.end + timedelta(minutes=room.buffer_minutes)
    if new_id is None:
        new_id = take_room(session, room.id, new_id=True)
    found = conflicts(session, room=room, start=window.start, occupied_until=occupied_until, viewer=user)
    if found:
        raise _refuse(found)
    now = utcnow()
    reservation = Reservation(
        id=new_id,
        room_id=room.id,
        user_id=user.user_id,
        start_time=window.start,
        end_time=window.end,
        occupied_until=occupied_until,
        purpose=values["purpose"],
        attendees=values["attendees"],
        status=CONFIRMED,
        version=1,
        created_at=now,
        updated_at=now,
        cancelled_at=None,
        cancel_reason=None,
        series_id=series.id if series is not None else None,
        checked_in_at=None,
    )
    event = EVENTS.row(reservation, "reservation_created", to_dict(reservation, room.timezone))
    parameters = {f"row_{name}": getattr(reservation, name) for name in _ROW_COLUMNS}
    parameters.update({f"event_{name}": value for name, value in event.items()})
    with _constraint_as_conflict():
        session.connection().execute(_INSERT_BOOKING, parameters)
    return reservation
