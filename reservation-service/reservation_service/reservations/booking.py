"""Writing a booking: the row under the room's lock and the exclusion constraint, and its event."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from psycopg2.errors import DeadlockDetected, ExclusionViolation
from sqlalchemy.orm import Session

from reservation_service.config import SERVICE_NAME
from reservation_service.replica.models import RoomReplica
from reservation_service.reservations import rules
from reservation_service.reservations.models import CONFIRMED, Reservation
from reservation_service.times import in_zone
from servicekit.auth import Principal
from servicekit.outbox import Aggregate, EventStream
from servicekit.problems import Problem

EVENTS = EventStream(producer=SERVICE_NAME, topic="reservation_events")
_ROOM_LOCK_KEY = sa.func.hashtextextended(sa.func.concat("reservation-room:", sa.bindparam("room_id")), 0)


def to_dict(reservation: Reservation, zone_name: str) -> dict[str, Any]:
    """The API form: instants with the room's UTC offset at that instant."""

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
    session: Session, *, room: RoomReplica, window: rules.Window, viewer: Principal, excluding: int | None = None
) -> list[dict[str, Any]]:
    """The confirmed reservations whose occupied range (buffer included) overlaps the window's; ids only
    where the viewer may see them."""
    occupied_until = window.end + timedelta(minutes=room.buffer_minutes)
    query = (
        sa.select(Reservation)
        .where(Reservation.room_id == room.id, Reservation.status == CONFIRMED)
        .where(Reservation.start_time < occupied_until, Reservation.occupied_until > window.start)
        .order_by(Reservation.start_time)
    )
    if excluding is not None:
        query = query.where(Reservation.id != excluding)
    out = []
    for row in session.scalars(query):
        item: dict[str, Any] = {
            "start_time": in_zone(row.start_time, room.timezone),
            "end_time": in_zone(row.end_time, room.timezone),
        }
        if viewer.is_admin or row.user_id == viewer.user_id:
            item = {"id": row.id, **item}
        out.append(item)
    return out


def write_or_conflict(
    session: Session, reservation: Reservation, values: dict[str, Any], room: RoomReplica, viewer: Principal
) -> None:
    """Set the values and write the row in a savepoint; an overlap that the exclusion constraint
    catches becomes a 409 listing the conflicts, and leaves the transaction usable."""
    reservation_id = reservation.id  # read now: a failed flush expires the object's attributes
    window = rules.Window(values["start_time"], values["end_time"])
    # Writes to one room take turns until commit. Without this, chains of overlapping inserts (A's range
    # meets B's, B's meets C's) deadlock inside the exclusion check, sometimes twice over.
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(_ROOM_LOCK_KEY)), {"room_id": room.id})
    for attempt in (1, 2):
        try:
            with session.begin_nested():
                for key, value in values.items():
                    setattr(reservation, key, value)
                session.add(reservation)
                session.flush()
            return
        except sa.exc.IntegrityError as error:
            if not isinstance(error.orig, ExclusionViolation):
                raise
            break
        except sa.exc.OperationalError as error:
            # Two inserts racing for one slot can deadlock inside the exclusion check; PostgreSQL aborts
            # one. Trying once more waits for the winner, then meets its row as an ordinary conflict.
            if not isinstance(error.orig, DeadlockDetected) or attempt == 2:
                raise
    raise Problem(
        409,
        "The room is already booked for part of this time.",
        slug="reservation-conflict",
        title="Reservation conflict",
        conflicts=conflicts(session, room=room, window=window, viewer=viewer, excluding=reservation_id),
    )


def book(
    *,
    session: Session,
    room: RoomReplica,
    window: rules.Window,
    values: dict[str, Any],
    user: Principal,
    series: Aggregate | None = None,
) -> Reservation:
    """Write one checked booking with its event; 409 listing the conflicts if the room is taken."""
    reservation = Reservation(user_id=user.user_id, status=CONFIRMED, version=1, series_id=series and series.id)
    row = {
        "room_id": room.id,
        "start_time": window.start,
        "end_time": window.end,
        "occupied_until": window.end + timedelta(minutes=room.buffer_minutes),
        "purpose": values["purpose"],
        "attendees": values["attendees"],
    }
    write_or_conflict(session, reservation, row, room, user)
    publish(session, reservation, "reservation_created", room.timezone)
    return reservation
