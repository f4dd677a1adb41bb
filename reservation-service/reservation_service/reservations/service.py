"""Reservation operations; PostgreSQL's exclusion constraint is the last word on overlaps."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reservation_service.replica.models import Room, RoomReplica
from reservation_service.reservations import booking, rules
from reservation_service.reservations.models import CANCELLED, CONFIRMED, RELEASED, Reservation, instant_param
from reservation_service.reservations.policy import Limits, check_policy
from reservation_service.times import local_instant
from servicekit.auth import Principal
from servicekit.db import utcnow
from servicekit.pagination import paginate
from servicekit.problems import Problem


def create_reservation(
    *, session: Session, reservation_in: dict[str, Any], user: Principal, limits: Limits
) -> tuple[booking.Booked, Room]:
    room = rules.bookable_room(session, reservation_in["room_id"])
    window = rules.parse_window(reservation_in, room)
    now = utcnow()
    rules.check_window(window, now=now)
    check_policy(room, window.start, window.end, now=now, limits=limits)
    rules.check_capacity(reservation_in["attendees"], room)
    quota = limits.quota_applies(user)
    reservation = booking.book(
        session=session,
        room=room,
        window=window,
        values=reservation_in,
        user=user,
        user_lock="exclusive" if quota else "shared",
        max_upcoming=limits.max_upcoming if quota else None,
    )
    return reservation, room


def update_reservation(
    *, session: Session, reservation_id: int, changes: dict[str, Any], user: Principal, limits: Limits
) -> tuple[Reservation, Room]:
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
    booking.write_change(session, reservation, {**new_values, "version": reservation.version + 1}, room, user)
    booking.publish(session, reservation, "reservation_updated", room.timezone)
    return reservation, room


def cancel_reservation(*, session: Session, reservation_id: int, user: Principal) -> None:
    """Cancel (the row stays, as history); cancelling twice changes nothing, a finished one is 409."""
    reservation = _visible(session, reservation_id, user, lock=True)
    if reservation.status in (CANCELLED, RELEASED):
        return
    rules.check_changeable(reservation, utcnow())
    reason = "cancelled by an admin" if user.is_admin and user.user_id != reservation.user_id else "cancelled"
    cancel(session=session, reservation=reservation, reason=reason)


def cancel(*, session: Session, reservation: Reservation, reason: str, status: str = CANCELLED) -> None:
    room = session.get(RoomReplica, reservation.room_id)
    assert room is not None  # the foreign key guarantees it
    reservation.status = status
    reservation.cancelled_at = utcnow()
    reservation.cancel_reason = reason
    reservation.version += 1
    booking.publish(session, reservation, "reservation_cancelled", room.timezone)


def cancel_unfinished(*, session: Session, condition: sa.ColumnElement[bool], reason: str) -> int:
    """Cancel the confirmed reservations matching `condition` that have not ended (future and in progress)."""
    pending = session.scalars(
        sa.select(Reservation)
        .where(condition, Reservation.status == CONFIRMED, Reservation.end_time > utcnow())
        .order_by(Reservation.id)
        .with_for_update()
    ).all()
    for reservation in pending:
        cancel(session=session, reservation=reservation, reason=reason)
    return len(pending)


def _visible(session: Session, reservation_id: int, viewer: Principal, *, lock: bool = False) -> Reservation:
    """A reservation the viewer owns (admins: any); others' are 404 so existence is not leaked."""
    query = sa.select(Reservation).where(Reservation.id == reservation_id)
    reservation: Reservation | None = session.scalar(query.with_for_update() if lock else query)
    if reservation is None or not (viewer.is_admin or reservation.user_id == viewer.user_id):
        raise Problem(404, f"Reservation {reservation_id} does not exist.")
    return reservation


def get_visible(
    *, session: Session, reservation_id: int, viewer: Principal, lock: bool = False
) -> tuple[Reservation, Room]:
    reservation = _visible(session, reservation_id, viewer, lock=lock)
    room = Room.get(session, reservation.room_id)
    return reservation, room


def list_visible(*, session: Session, viewer: Principal, page: int, per_page: int, **filters: Any) -> dict[str, Any]:
    """The viewer's reservations (admins: everyone's, or one user's), by start time."""
    user_id = filters.get("user_id")
    if user_id is not None and not viewer.is_admin and user_id != viewer.user_id:
        raise Problem(403, "Only admins may list other users' reservations.")
    own = not viewer.is_admin
    statement = _list_statement(own, frozenset(filters))
    parameters = {**filters, "viewer_id": viewer.user_id} if own else filters
    return paginate(
        session,
        statement,
        page=page,
        per_page=per_page,
        parameters=parameters,
        # Prepared where every filter is an equality (a generic plan serves it as well as a planned one); a
        # range of instants is planned per request.
        built_once=not filters.keys() & {"from_", "to"},
        render=lambda row: booking.to_dict(row, row.timezone, local_instant),
    )


_LIST_FILTERS = {
    "user_id": Reservation.user_id == sa.bindparam("user_id"),
    "room_id": Reservation.room_id == sa.bindparam("room_id"),
    "status": Reservation.status == sa.bindparam("status"),
    "from_": Reservation.end_time > instant_param("from_"),
    "to": Reservation.start_time < instant_param("to"),
}


@cache
def _list_statement(own: bool, filters: frozenset[str]) -> sa.Select[Any]:
    """The list's statement for one combination of filters, built once (with its page: see paginate)."""
    # An outer join (every reservation has its room: the foreign key) lets the count leave the rooms out.
    query = sa.select(*Reservation.__table__.columns, RoomReplica.timezone).join(
        RoomReplica, RoomReplica.id == Reservation.room_id, isouter=True
    )
    if own:
        query = query.where(Reservation.user_id == sa.bindparam("viewer_id"))
    for name in sorted(filters):
        query = query.where(_LIST_FILTERS[name])
    return query.order_by(Reservation.start_time, Reservation.id)
