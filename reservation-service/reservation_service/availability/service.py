"""Availability, answered from the room replica and the reservations table with indexed queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from reservation_service.replica.models import Room, RoomReplica
from reservation_service.reservations.models import (
    CONFIRMED,
    Reservation,
    instant_param,
    occupied_range,
    overlapping,
)
from reservation_service.reservations.policy import Interval, is_open, open_intervals
from reservation_service.times import in_zone, local_day
from servicekit.auth import Principal
from servicekit.catalogue import RoomSummary
from servicekit.prepared import prepared
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
    room = Room.find(session, room_id)
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
    # Opening hours are per weekday in each room's zone: checked here, for the rooms that have them.
    with_hours = prepared(_search(min_capacity is not None, bool(tags)).with_hours)
    closed = [room.id for room in with_hours.rows(session, parameters) if not is_open(room, start, end)]
    short_window = end - start <= SHORT_WINDOW
    statements = _search(min_capacity is not None, bool(tags), bool(closed), short_window)
    parameters.update(closed=closed, limit=per_page, offset=(page - 1) * per_page)
    # The page and the total in one statement: the overlap test runs once per room, not again for a count.
    # A short window's statement is prepared (its plan reads the index on the ranges whatever the instants);
    # a long one is planned per request: a generic plan for its instants may walk each room's history.
    rows: Sequence[Any]
    if short_window:
        rows = prepared(statements.page).rows(session, parameters)
    else:
        rows = session.connection().execute(statements.page, parameters).all()
    total = rows[0].total if rows else session.connection().execute(statements.count_all, parameters).scalar()
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


# Up to this long, a window's busy rooms are found with one scan of the index on the occupied ranges (every
# reservation overlapping the window, a few per room at most); longer windows test each room on its own, through
# its reservations that end after the window starts (one scan of a month's bookings of every room is worse).
SHORT_WINDOW = timedelta(days=1)


@cache
def _search(
    with_capacity: bool, with_tags: bool, with_closed: bool = False, short_window: bool = False
) -> _SearchStatements:
    """The free-room search's statements for one combination of filters, built once: building and cache-keying
    them cost more CPU than running them."""
    end_with_buffer = instant_param("end") + RoomReplica.buffer_minutes * sa.text("interval '1 minute'")
    if short_window:
        busy_rooms = _busy_in_window()
        busy = sa.select(busy_rooms.c.room_id).where(
            busy_rooms.c.room_id == RoomReplica.id, busy_rooms.c.start_time < end_with_buffer
        )
    else:
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
    if with_closed:  # one array parameter, not a list of them: the prepared statement's shape stays the same
        conditions.append(RoomReplica.id != sa.func.all(sa.bindparam("closed", type_=ARRAY(sa.BigInteger))))
    conditions.append(~sa.exists(busy))
    total = sa.func.count().over().label("total")
    page = sa.select(*_SUMMARY, total).where(*conditions).order_by(RoomReplica.id)
    page = page.limit(sa.bindparam("limit")).offset(sa.bindparam("offset"))
    count = sa.select(sa.func.count()).select_from(RoomReplica).where(*conditions)
    return _SearchStatements(with_hours, page, count)


def _busy_in_window() -> sa.CTE:
    """The confirmed reservations whose occupied range overlaps the window stretched by the longest buffer of
    any room, read once (MATERIALIZED: PostgreSQL would otherwise test them room by room, through the index on
    (room_id, occupied_until)); each room then keeps those that start before its own buffer's end. The longest
    buffer comes from the index on the rooms' buffers (migration 0010)."""
    longest_buffer = sa.func.coalesce(sa.select(sa.func.max(RoomReplica.buffer_minutes)).scalar_subquery(), 0)
    stretched_end = instant_param("end") + longest_buffer * sa.text("interval '1 minute'")
    window = sa.func.tstzrange(instant_param("start"), stretched_end, "[)")
    return (
        sa.select(Reservation.room_id, Reservation.start_time)
        .where(Reservation.status == CONFIRMED, occupied_range().op("&&")(window))
        .cte("busy")
        .prefix_with("MATERIALIZED")
    )
