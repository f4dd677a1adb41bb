"""Booking rules in plain code; PostgreSQL's exclusion constraint is the last word on overlaps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from psycopg2.errors import ExclusionViolation
from sqlalchemy.orm import Session

from reservation_service.config import SERVICE_NAME
from reservation_service.reservations.models import CONFIRMED, Reservation
from reservation_service.rooms.models import RoomReplica
from reservation_service.times import TimeError, in_zone, parse_instant
from servicekit.auth import Principal
from servicekit.db import utcnow
from servicekit.outbox import add_event
from servicekit.pagination import paginate
from servicekit.problems import Problem, validation_problem

TOPIC = "reservation_events"


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
    }


def emit(session: Session, reservation: Reservation, event_type: str, zone_name: str) -> None:
    session.flush()
    data = to_dict(reservation, zone_name)
    add_event(session, producer=SERVICE_NAME, topic=TOPIC, event_type=event_type, aggregate=reservation, data=data)


def bookable_room(session: Session, room_id: int) -> RoomReplica:
    room = session.get(RoomReplica, room_id)
    if room is None or not room.bookable:
        raise Problem(
            422,
            f"Room {room_id} is not known here or is not bookable; a room just created may take a moment to arrive.",
            slug="unknown-room",
            title="Unknown room",
            errors=[{"field": "room_id", "message": "Unknown or inactive room."}],
        )
    return room


def _window(body: dict[str, Any], room: RoomReplica, max_hours: int, now: datetime) -> tuple[datetime, datetime]:
    zone = ZoneInfo(room.timezone)
    errors: list[dict[str, Any]] = []
    times: dict[str, datetime] = {}
    for field in ("start_time", "end_time"):
        try:
            times[field] = parse_instant(body[field], zone)
        except TimeError as error:
            errors.append({"field": field, "message": str(error)})
    if errors:
        raise validation_problem(errors)
    start, end = times["start_time"], times["end_time"]
    if start >= end:
        errors.append({"field": "end_time", "message": "Must be after start_time."})
    elif end - start > timedelta(hours=max_hours):
        errors.append({"field": "end_time", "message": f"A reservation may last at most {max_hours} hours."})
    if start < now:
        errors.append({"field": "start_time", "message": "Must not be in the past."})
    if errors:
        raise validation_problem(errors)
    return start, end


def _check_capacity(attendees: int, room: RoomReplica) -> None:
    if attendees > room.capacity:
        raise validation_problem([{"field": "attendees", "message": f"The room holds at most {room.capacity} people."}])


def conflicts(
    session: Session, *, room: RoomReplica, start: datetime, end: datetime, viewer: Principal
) -> list[dict[str, Any]]:
    """The confirmed reservations overlapping [start, end); ids only where the viewer may see them."""
    rows = session.scalars(
        sa.select(Reservation)
        .where(Reservation.room_id == room.id, Reservation.status == CONFIRMED)
        .where(Reservation.start_time < end, Reservation.end_time > start)
        .order_by(Reservation.start_time)
    ).all()
    out = []
    for row in rows:
        item: dict[str, Any] = {
            "start_time": in_zone(row.start_time, room.timezone),
            "end_time": in_zone(row.end_time, room.timezone),
        }
        if viewer.is_admin or row.user_id == viewer.user_id:
            item = {"id": row.id, **item}
        out.append(item)
    return out


def create_reservation(
    session: Session, *, reservation_in: dict[str, Any], user: Principal, max_hours: int
) -> tuple[Reservation, RoomReplica]:
    room = bookable_room(session, reservation_in["room_id"])
    start, end = _window(reservation_in, room, max_hours, utcnow())
    _check_capacity(reservation_in["attendees"], room)
    reservation = Reservation(
        room_id=room.id,
        user_id=user.user_id,
        start_time=start,
        end_time=end,
        purpose=reservation_in["purpose"],
        attendees=reservation_in["attendees"],
        status=CONFIRMED,
        version=1,
    )
    try:
        with session.begin_nested():
            session.add(reservation)
            session.flush()
    except sa.exc.IntegrityError as error:
        if not isinstance(error.orig, ExclusionViolation):
            raise
        raise Problem(
            409,
            "The room is already booked for part of this time.",
            slug="reservation-conflict",
            title="Reservation conflict",
            conflicts=conflicts(session, room=room, start=start, end=end, viewer=user),
        ) from None
    emit(session, reservation, "reservation_created", room.timezone)
    return reservation, room


def get_visible(session: Session, reservation_id: int, viewer: Principal) -> tuple[Reservation, RoomReplica]:
    """A reservation the viewer owns (admins: any); others' are 404 so existence is not leaked."""
    reservation = session.get(Reservation, reservation_id)
    if reservation is None or not (viewer.is_admin or reservation.user_id == viewer.user_id):
        raise Problem(404, f"Reservation {reservation_id} does not exist.")
    room = session.get(RoomReplica, reservation.room_id)
    assert room is not None  # the foreign key guarantees it
    return reservation, room


def list_visible(session: Session, *, viewer: Principal, page: int, per_page: int) -> dict[str, Any]:
    query = sa.select(Reservation, RoomReplica.timezone).join(RoomReplica, RoomReplica.id == Reservation.room_id)
    if not viewer.is_admin:
        query = query.where(Reservation.user_id == viewer.user_id)
    query = query.order_by(Reservation.start_time, Reservation.id)
    return paginate(session, query, page=page, per_page=per_page, render=lambda row: to_dict(row[0], row[1]))
