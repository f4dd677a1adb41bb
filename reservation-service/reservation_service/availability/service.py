"""Availability, answered from the room replica and the reservations table with indexed queries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reservation_service.reservations.models import CONFIRMED, Reservation
from reservation_service.rooms.models import RoomReplica
from reservation_service.times import in_zone, local_day
from servicekit.auth import Principal
from servicekit.pagination import paginate
from servicekit.problems import Problem


def day_availability(session: Session, *, room_id: int, day: date, viewer: Principal) -> dict[str, Any]:
    """Booked and free intervals covering the room's local day; others' bookings show as times only."""
    room = session.get(RoomReplica, room_id)
    if room is None or room.is_deleted:
        raise Problem(404, f"Room {room_id} does not exist.")
    day_start, day_end = local_day(day, room.timezone)
    bookings = session.scalars(
        sa.select(Reservation)
        .where(Reservation.room_id == room.id, Reservation.status == CONFIRMED)
        .where(Reservation.start_time < day_end, Reservation.end_time > day_start)
        .order_by(Reservation.start_time)
    ).all()
    booked, free = [], []
    cursor = day_start
    for booking in bookings:
        start, end = max(booking.start_time, day_start), min(booking.end_time, day_end)
        if start > cursor:
            free.append(_interval(cursor, start, room.timezone))
        slot = _interval(start, end, room.timezone)
        if viewer.is_admin or booking.user_id == viewer.user_id:
            slot = {"id": booking.id, "purpose": booking.purpose, **slot}
        booked.append(slot)
        cursor = max(cursor, end)
    if cursor < day_end:
        free.append(_interval(cursor, day_end, room.timezone))
    return {"room_id": room.id, "date": day.isoformat(), "timezone": room.timezone, "booked": booked, "free": free}


def _interval(start: datetime, end: datetime, zone: str) -> dict[str, Any]:
    return {"start_time": in_zone(start, zone), "end_time": in_zone(end, zone)}


def free_rooms(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    page: int,
    per_page: int,
    min_capacity: int | None = None,
    equipment: str | None = None,
) -> dict[str, Any]:
    """The active rooms with no confirmed reservation overlapping [start, end)."""
    window = sa.func.tstzrange(start, end, "[)")
    # Same expression as the exclusion constraint, so its GiST index answers the overlap test.
    busy = (
        sa.select(Reservation.id)
        .where(Reservation.room_id == RoomReplica.id, Reservation.status == CONFIRMED)
        .where(sa.func.tstzrange(Reservation.start_time, Reservation.end_time, "[)").op("&&")(window))
    )
    query = sa.select(RoomReplica).where(
        RoomReplica.is_active.is_(True), RoomReplica.is_deleted.is_(False), ~sa.exists(busy)
    )
    if min_capacity is not None:
        query = query.where(RoomReplica.capacity >= min_capacity)
    tags = sorted({tag.strip().lower() for tag in (equipment or "").split(",") if tag.strip()})
    if tags:
        query = query.where(RoomReplica.equipment.contains(tags))
    return paginate(session, query.order_by(RoomReplica.id), page=page, per_page=per_page)
