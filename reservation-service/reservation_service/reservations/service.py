"""Reservation operations; PostgreSQL's exclusion constraint is the last word on overlaps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from psycopg2.errors import DeadlockDetected, ExclusionViolation
from sqlalchemy.orm import Session

from reservation_service.config import SERVICE_NAME
from reservation_service.reservations import rules
from reservation_service.reservations.models import CANCELLED, CONFIRMED, RELEASED, Reservation
from reservation_service.reservations.policy import Limits, check_policy, check_quota
from reservation_service.rooms.models import RoomReplica
from reservation_service.times import in_zone
from reservation_service.users.access import hold_for_booking
from servicekit.auth import Principal
from servicekit.db import utcnow
from servicekit.outbox import Aggregate, add_event
from servicekit.pagination import paginate
from servicekit.problems import Problem

TOPIC = "reservation_events"
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


def emit(session: Session, reservation: Reservation, event_type: str, zone_name: str) -> None:
    session.flush()
    data = to_dict(reservation, zone_name)
    add_event(session, producer=SERVICE_NAME, topic=TOPIC, event_type=event_type, aggregate=reservation, data=data)


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


def _write_or_conflict(
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


def create_reservation(
    session: Session, *, reservation_in: dict[str, Any], user: Principal, limits: Limits
) -> tuple[Reservation, RoomReplica]:
    room = rules.bookable_room(session, reservation_in["room_id"])
    window = rules.parse_window(reservation_in, room)
    now = utcnow()
    rules.check_window(window, now=now)
    check_policy(room, window.start, window.end, now=now, limits=limits)
    rules.check_capacity(reservation_in["attendees"], room)
    hold_for_booking(session, user.user_id, exclusive=limits.quota_applies(user))
    check_quota(session, user, limits=limits, now=now)
    return book(session, room=room, window=window, values=reservation_in, user=user), room


def book(
    session: Session,
    *,
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
    _write_or_conflict(session, reservation, row, room, user)
    emit(session, reservation, "reservation_created", room.timezone)
    return reservation


def update_reservation(
    session: Session, *, reservation_id: int, changes: dict[str, Any], user: Principal, limits: Limits
) -> tuple[Reservation, RoomReplica]:
    """Apply a partial change, re-checking every rule against the result (the room's policy only when the
    room or the time changes)."""
    reservation = _visible(session, reservation_id, user, lock=True)
    now = utcnow()
    rules.check_changeable(reservation, now)
    current = {
        "room_id": reservation.room_id,
        "start_time": reservation.start_time,
        "end_time": reservation.end_time,
        "purpose": reservation.purpose,
        "attendees": reservation.attendees,
    }
    merged = {**current, **changes}
    room = rules.bookable_room(session, merged["room_id"])
    window = rules.parse_window(merged, room)
    # A meeting in progress may still be extended, shortened or renamed; a moved start, or a move to another
    # room (which would book that room from a start already past), must lie ahead.
    moved = window.start != reservation.start_time or room.id != reservation.room_id
    rules.check_window(window, now=now, start_must_be_future=moved)
    occupied_until = reservation.occupied_until
    if moved or window.end != reservation.end_time:
        check_policy(room, window.start, window.end, now=now, limits=limits)
        occupied_until = window.end + timedelta(minutes=room.buffer_minutes)
    rules.check_capacity(merged["attendees"], room)
    new_values = {**merged, "start_time": window.start, "end_time": window.end, "occupied_until": occupied_until}
    if all(getattr(reservation, key) == value for key, value in new_values.items()):
        return reservation, room
    _write_or_conflict(session, reservation, {**new_values, "version": reservation.version + 1}, room, user)
    emit(session, reservation, "reservation_updated", room.timezone)
    return reservation, room


def cancel_reservation(session: Session, *, reservation_id: int, user: Principal) -> None:
    """Cancel (the row stays, as history); cancelling twice changes nothing, a finished one is 409."""
    reservation = _visible(session, reservation_id, user, lock=True)
    if reservation.status in (CANCELLED, RELEASED):
        return
    rules.check_changeable(reservation, utcnow())
    reason = "cancelled by an admin" if user.is_admin and user.user_id != reservation.user_id else "cancelled"
    cancel(session, reservation, reason)


def cancel(session: Session, reservation: Reservation, reason: str, status: str = CANCELLED) -> None:
    room = session.get(RoomReplica, reservation.room_id)
    assert room is not None  # the foreign key guarantees it
    reservation.status = status
    reservation.cancelled_at = utcnow()
    reservation.cancel_reason = reason
    reservation.version += 1
    emit(session, reservation, "reservation_cancelled", room.timezone)


def cancel_unfinished(session: Session, condition: sa.ColumnElement[bool], reason: str) -> int:
    """Cancel the confirmed reservations matching `condition` that have not ended (future and in progress)."""
    pending = session.scalars(
        sa.select(Reservation)
        .where(condition, Reservation.status == CONFIRMED, Reservation.end_time > utcnow())
        .order_by(Reservation.id)
        .with_for_update()
    ).all()
    for reservation in pending:
        cancel(session, reservation, reason)
    return len(pending)


def _visible(session: Session, reservation_id: int, viewer: Principal, *, lock: bool = False) -> Reservation:
    """A reservation the viewer owns (admins: any); others' are 404 so existence is not leaked."""
    query = sa.select(Reservation).where(Reservation.id == reservation_id)
    reservation: Reservation | None = session.scalar(query.with_for_update() if lock else query)
    if reservation is None or not (viewer.is_admin or reservation.user_id == viewer.user_id):
        raise Problem(404, f"Reservation {reservation_id} does not exist.")
    return reservation


def get_visible(
    session: Session, reservation_id: int, viewer: Principal, *, lock: bool = False
) -> tuple[Reservation, RoomReplica]:
    reservation = _visible(session, reservation_id, viewer, lock=lock)
    room = session.get(RoomReplica, reservation.room_id)
    assert room is not None
    return reservation, room


def list_visible(session: Session, *, viewer: Principal, page: int, per_page: int, **filters: Any) -> dict[str, Any]:
    """The viewer's reservations (admins: everyone's, or one user's), by start time."""
    user_id = filters.get("user_id")
    if user_id is not None and not viewer.is_admin and user_id != viewer.user_id:
        raise Problem(403, "Only admins may list other users' reservations.")
    query = sa.select(Reservation, RoomReplica.timezone).join(RoomReplica, RoomReplica.id == Reservation.room_id)
    if not viewer.is_admin:
        query = query.where(Reservation.user_id == viewer.user_id)
    conditions = {
        "user_id": lambda v: Reservation.user_id == v,
        "room_id": lambda v: Reservation.room_id == v,
        "status": lambda v: Reservation.status == v,
        "from_": lambda v: Reservation.end_time > v,
        "to": lambda v: Reservation.start_time < v,
    }
    for name, value in filters.items():
        query = query.where(conditions[name](value))
    query = query.order_by(Reservation.start_time, Reservation.id)
    return paginate(session, query, page=page, per_page=per_page, render=lambda row: to_dict(row[0], row[1]))
