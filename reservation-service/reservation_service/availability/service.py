"""Availability, answered from the room replica and the reservations table with indexed queries."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from reservation_service.replica.models import RoomReplica
from reservation_service.reservations.models import CONFIRMED, Reservation, instant_param, overlapping
from reservation_service.reservations.policy import Interval, is_open, open_intervals
from reservation_service.times import in_zone, local_day
from servicekit.auth import Principal
from servicekit.catalogue import RoomSummary
from servicekit.problems import Problem

_DAY_BOOKINGS = (
    sa.select(
        Reservation.id, Reservation.user_id, Reservation.purpose, Reservation.start_time, Reservation.occupied_until
    )
    .where(Reservation.room_id == sa.bindparam("room_id"), Reservation.status == CONFIRMED)
    .where(overlapping(instant_param("day_start"), instant_param("day_end")))
    .order_by(Reservation.start_time)
)
_SUMMARY = [RoomReplica.__table__.c[name] for name in RoomSummary().fields]
_SUMMARY_NAMES = [column.name for column in _SUMMARY]


def day_availability(*, session: Session, room_id: int, day: date, viewer: Principal) -> dict[str, Any]:
    """Occupied ranges (buffers included) and free time inside opening hours, covering the room's local day;
    others' bookings show as times only."""
    room = RoomReplica.find(session, room_id)
    if room is None or room.is_deleted:
        raise Problem(404, f"Room {room_id} does not exist.")
    day_start, day_end = local_day(day, room.timezone)
    # Planned per request, not prepared: for a range of instants a generic plan may pick the index on
    # (room_id, start_time) and walk the room's history.
    parameters = {"room_id": room.id, "day_start": day_start, "day_end": day_end}
    bookings = session.connection().execute(_DAY_BOOKINGS, parameters).all()
    booked = []
    for booking in bookings:
        slot = _interval(max(booking.start_time, day_start), min(booking.occupied_until, day_end), room.timezone)
        if viewer.is_admin or booking.user_id == viewer.user_id:
            slot = {"id": booking.id, "purpose": booking.purpose, **slot}
        booked.append(slot)
    opened = open_intervals(room, day_start, day_end)
    free = _minus(
        [(day_start, day_end)] if opened is None else _clip(opened, day_start, day_end),
        [(booking.start_time, booking.occupied_until) for booking in bookings],
    )
    return {
        "room_id": room.id,
        "date": day.isoformat(),
        "timezone": room.timezone,
        "booked": booked,
        "free": [_interval(start, end, room.timezone) for start, end in free],
    }


def _clip(intervals: list[Interval], start: datetime, end: datetime) -> list[Interval]:
    return [(max(s, start), min(e, end)) for s, e in intervals if s < end and e > start]


def _minus(spans: list[Interval], taken: list[Interval]) -> list[Interval]:
    """The parts of `spans` (sorted, disjoint) that no interval of `taken` (sorted by start) covers."""
    out = []
    for start, end in spans:
        cursor = start
        for taken_start, taken_end in taken:
            if taken_end <= cursor or taken_start >= end:
                continue
            if taken_start > cursor:
                out.append((cursor, taken_start))
            cursor = max(cursor, taken_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def _interval(start: datetime, end: datetime, zone: str) -> dict[str, Any]:
    return {"start_time": in_zone(start, zone), "end_time": in_zone(end, zone)}


def free_rooms(
    *,
    session: Session,
    start: datetime,
    end: datetime,
    page: int,
    per_page: int,
    min_capacity: int | None = None,
    equipment: str | None = None,
) -> dict[str, Any]:
    """The active rooms where [start, end) could be booked now: open for all of it, and no confirmed
    reservation's occupied range overlapping the window with the room's own buffer after it."""
    tags = sorted({tag.strip().lower() for tag in (equipment or "").split(",") if tag.strip()})
    parameters: dict[str, Any] = {"start": start, "end": end, "min_capacity": min_capacity, "tags": tags}
    connection = session.connection()
    # Opening hours are per weekday in each room's zone: checked here, for the rooms that have them.
    with_hours = _search(min_capacity is not None, bool(tags)).with_hours
    closed = [room.id for room in connection.execute(with_hours, parameters) if not is_open(room, start, end)]
    statements = _search(min_capacity is not None, bool(tags), bool(closed))
    parameters.update(closed=closed, limit=per_page, offset=(page - 1) * per_page)
    # The page and the total in one statement: the overlap test runs once per room, not again for a count.
    # Planned per request, not prepared: a generic plan for the window's instants may walk each room's history.
    rows = connection.execute(statements.page, parameters).all()
    total = rows[0].total if rows else connection.execute(statements.count_all, parameters).scalar()
    return {
        "items": [dict(zip(_SUMMARY_NAMES, row, strict=False)) for row in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
    }


class _SearchStatements(NamedTuple):
    with_hours: sa.Select[*tuple[Any, ...]]
    page: sa.Select[*tuple[Any, ...]]
    count_all: sa.Select[*tuple[Any, ...]]


@cache
def _search(with_capacity: bool, with_tags: bool, with_closed: bool = False) -> _SearchStatements:
    """The free-room search's statements for one combination of filters, built once: building and cache-keying
    them cost more CPU than running them."""
    end_with_buffer = instant_param("end") + RoomReplica.buffer_minutes * sa.text("interval '1 minute'")
    busy = (
        sa.select(Reservation.id)
        .where(Reservation.room_id == RoomReplica.id, Reservation.status == CONFIRMED)
        .where(overlapping(instant_param("start"), end_with_buffer))
    )
    conditions: list[sa.ColumnElement[bool]] = [RoomReplica.is_active.is_(True), RoomReplica.is_deleted.is_(False)]
    if with_capacity:
        conditions.append(RoomReplica.capacity >= sa.bindparam("min_capacity"))
    if with_tags:
        conditions.append(RoomReplica.equipment.contains(sa.bindparam("tags", type_=ARRAY(sa.String(100)))))
    # A room without opening hours may hold JSON null rather than SQL NULL: only objects are hours.
    with_hours = sa.select(RoomReplica.id, RoomReplica.timezone, RoomReplica.opening_hours).where(
        *conditions, sa.func.jsonb_typeof(RoomReplica.opening_hours) == "object"
    )
    if with_closed:
        conditions.append(RoomReplica.id.not_in(sa.bindparam("closed", expanding=True)))
    conditions.append(~sa.exists(busy))
    total = sa.func.count().over().label("total")
    page = sa.select(*_SUMMARY, total).where(*conditions).order_by(RoomReplica.id)
    page = page.limit(sa.bindparam("limit")).offset(sa.bindparam("offset"))
    count = sa.select(sa.func.count()).select_from(RoomReplica).where(*conditions)
    return _SearchStatements(with_hours, page, count)
