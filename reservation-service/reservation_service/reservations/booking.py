"""Writing a booking: the row under the room's lock and the exclusion constraint, and its event."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa
from psycopg2.errors import ExclusionViolation
from sqlalchemy.orm import Session

from reservation_service.config import SERVICE_NAME
from reservation_service.replica.models import Room
from reservation_service.reservations import rules
from reservation_service.reservations.locks import ROOM_LOCK_KEY
from reservation_service.reservations.models import CONFIRMED, Reservation, instant_param, overlapping
from reservation_service.reservations.policy import quota_problem
from reservation_service.times import in_zone
from servicekit.auth import Principal
from servicekit.db import driver_cursor, utcnow
from servicekit.outbox import Aggregate, EventStream
from servicekit.problems import Problem, unauthorized

EVENTS = EventStream(producer=SERVICE_NAME, topic="reservation_events")
UserLock = Literal["shared", "exclusive", "held"]
# Built once (building and cache-keying a statement costs more CPU than sending it).
_TAKE_ROOM = sa.select(sa.func.pg_advisory_xact_lock(ROOM_LOCK_KEY))
_OVERLAPPING = (
    sa.select(Reservation.id, Reservation.user_id, Reservation.start_time, Reservation.end_time)
    .where(Reservation.room_id == sa.bindparam("room_id"), Reservation.status == CONFIRMED)
    .where(overlapping(instant_param("start"), instant_param("occupied_until")))
    .where(Reservation.id != sa.bindparam("excluding"))
    .order_by(Reservation.start_time)
)


@dataclass(slots=True)
class Booked:
    """A reservation as book() writes it: a plain value (it never enters the session; an ORM instance of these
    columns cost more CPU to build than the booking's statement). Its id is known once book_reservation ran."""

    id: int
    room_id: int
    user_id: int
    start_time: datetime
    end_time: datetime
    occupied_until: datetime
    purpose: str | None
    attendees: int
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None
    series_id: int | None
    checked_in_at: datetime | None


NOT_YET_WRITTEN = 0  # the id of a Booked before book_reservation numbers it (in the row and in its event)


class _Outcome(NamedTuple):
    """A row of book_reservation: "booked" (the new id), "conflict" (one per overlapping reservation),
    "quota" (the count in `id`) or "user-gone"."""

    outcome: str
    id: int | None
    user_id: int | None
    start_time: datetime | None
    end_time: datetime | None


_BOOK_RESERVATION = "SELECT * FROM book_reservation(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


def to_dict(
    reservation: Reservation | Booked | sa.Row[Any],
    zone_name: str,
    written: Callable[[datetime, str], datetime | str] = in_zone,
) -> dict[str, Any]:
    """The API form: instants with the room's UTC offset at that instant (from the object, or from a row of
    the table's columns). Instants as text (events), or `written=local_instant` for a response body, where the
    JSON encoder writes them."""

    # Four of the six instants are never NULL; written without a helper per value (a page has 300).
    cancelled_at, checked_in_at = reservation.cancelled_at, reservation.checked_in_at
    return {
        "id": reservation.id,
        "room_id": reservation.room_id,
        "user_id": reservation.user_id,
        "start_time": written(reservation.start_time, zone_name),
        "end_time": written(reservation.end_time, zone_name),
        "purpose": reservation.purpose,
        "attendees": reservation.attendees,
        "status": reservation.status,
        "created_at": written(reservation.created_at, zone_name),
        "updated_at": written(reservation.updated_at, zone_name),
        "cancelled_at": None if cancelled_at is None else written(cancelled_at, zone_name),
        "cancel_reason": reservation.cancel_reason,
        "series_id": reservation.series_id,
        "checked_in_at": None if checked_in_at is None else written(checked_in_at, zone_name),
    }


def publish(session: Session, reservation: Reservation, event_type: str, zone_name: str) -> None:
    EVENTS.publish(session, reservation, event_type, lambda: to_dict(reservation, zone_name))


def conflicts(
    session: Session,
    *,
    room: Room,
    start: datetime,
    occupied_until: datetime,
    viewer: Principal,
    excluding: int | None = None,
) -> list[dict[str, Any]]:
    """The confirmed reservations whose occupied range overlaps [start, occupied_until): those the exclusion
    constraint would refuse."""
    parameters = {"room_id": room.id, "start": start, "occupied_until": occupied_until, "excluding": excluding or 0}
    return [_conflict(row, room.timezone, viewer) for row in session.connection().execute(_OVERLAPPING, parameters)]


def _conflict(row: Any, zone_name: str, viewer: Principal) -> dict[str, Any]:
    """A conflicting reservation as a 409 lists it: its id only where the viewer may see it."""
    item: dict[str, Any] = {
        "start_time": in_zone(row.start_time, zone_name),
        "end_time": in_zone(row.end_time, zone_name),
    }
    if viewer.is_admin or row.user_id == viewer.user_id:
        item = {"id": row.id, **item}
    return item


def take_room(session: Session, room_id: int) -> None:
    """Writes to one room take turns until commit: after this, no other booking of the room is in flight, so
    what `conflicts` finds is exactly what the exclusion constraint would refuse (and the constraint never
    has to wait on another writer's row: chains of overlapping inserts used to deadlock inside it)."""
    session.connection().execute(_TAKE_ROOM, {"room_id": room_id})


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
    session: Session, reservation: Reservation, values: dict[str, Any], room: Room, viewer: Principal
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
    room: Room,
    window: rules.Window,
    values: dict[str, Any],
    user: Principal,
    series: Aggregate | None = None,
    user_lock: UserLock = "held",
    max_upcoming: int | None = None,
) -> Booked:
    """Write one checked booking and its event in one round trip (book_reservation, migration 0008): the
    user's turn (`held`: the caller took it), the user re-read after it, the quota when `max_upcoming` is
    given, the room's turn, the overlap check, the row and its outbox event. 409 listing the conflicts if the
    room is taken, 401 if the user was removed meanwhile, 422 over the quota."""
    now = utcnow()
    reservation = Booked(
        id=NOT_YET_WRITTEN,
        room_id=room.id,
        user_id=user.user_id,
        start_time=window.start,
        end_time=window.end,
        occupied_until=window.end + timedelta(minutes=room.buffer_minutes),
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
    parameters = (
        room.id,
        user.user_id,
        window.start,
        window.end,
        reservation.occupied_until,
        reservation.purpose,
        reservation.attendees,
        reservation.series_id,
        now,
        user_lock,
        max_upcoming,
        str(event["event_id"]),
        event["topic"],
        event["event_type"],
        json.dumps(event["payload"]),
    )
    with _constraint_as_conflict(), driver_cursor(session) as cursor:
        cursor.execute(_BOOK_RESERVATION, parameters)
        rows = [_Outcome(*row) for row in cursor.fetchall()]
    outcome, number = rows[0].outcome, rows[0].id or 0
    if outcome == "booked":
        reservation.id = number
        return reservation
    if outcome == "conflict":
        raise _refuse([_conflict(row, room.timezone, user) for row in rows])
    if outcome == "quota":
        raise quota_problem(max_upcoming or 0, number)
    raise unauthorized("This account is no longer active.", token_given=True)  # outcome "user-gone"
