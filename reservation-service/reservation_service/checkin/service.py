"""Checking in to a meeting, and releasing the confirmed ones nobody checked in to in time."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from reservation_service.replica.models import Room, RoomReplica
from reservation_service.reservations import booking, service
from reservation_service.reservations.models import CONFIRMED, RELEASED, Reservation
from servicekit.auth import Principal
from servicekit.db import utcnow
from servicekit.problems import Problem

log = logging.getLogger(__name__)

EARLY = timedelta(minutes=15)  # check-in opens this long before the start
RELEASE_REASON = "not checked in"


def window(reservation: Reservation, room: Room) -> tuple[datetime, datetime]:
    """When check-in is allowed, both ends inclusive: from 15 minutes before the start until the end, or, in
    rooms that require check-in, until start + check_in_minutes if that comes first."""
    closes = reservation.end_time
    if room.requires_check_in:
        closes = min(closes, reservation.start_time + timedelta(minutes=room.check_in_minutes))
    return reservation.start_time - EARLY, closes


def check_in(*, session: Session, reservation_id: int, user: Principal) -> tuple[Reservation, Room]:
    reservation, room = service.get_visible(session=session, reservation_id=reservation_id, viewer=user, lock=True)
    if reservation.status != CONFIRMED:
        raise Problem(409, f"This reservation is {reservation.status}.", slug="reservation-cancelled")
    if reservation.checked_in_at is not None:
        return reservation, room
    opens, closes = window(reservation, room)
    now = utcnow()
    if not opens <= now <= closes:
        detail = f"Check-in is open from {opens.isoformat()} to {closes.isoformat()}."
        raise Problem(409, detail, slug="check-in-closed", title="Check-in is closed")
    reservation.checked_in_at = now
    reservation.version += 1
    booking.publish(session, reservation, "reservation_updated", room.timezone)
    return reservation, room


def _deadline() -> sa.ColumnElement[datetime]:
    return sa.func.least(
        Reservation.start_time + RoomReplica.check_in_minutes * sa.text("interval '1 minute'"), Reservation.end_time
    )


def _no_shows(limit: int) -> sa.Select[int]:
    """Confirmed, not checked in, in a room that requires check-in now, past the deadline (database clock)."""
    return (
        sa.select(Reservation.id)
        .join(RoomReplica, RoomReplica.id == Reservation.room_id)
        .where(Reservation.status == CONFIRMED, Reservation.checked_in_at.is_(None))
        .where(RoomReplica.requires_check_in.is_(True), _deadline() <= sa.func.now())
        .order_by(Reservation.start_time)
        .limit(limit)
    )


def release_no_shows(sessions: sessionmaker[Session], *, batch: int = 100) -> int:
    """Release every no-show, each in its own transaction with its event; the count released."""
    released = 0
    while True:
        with sessions() as session:
            candidates = session.scalars(_no_shows(batch)).all()
        if not candidates:
            return released
        for reservation_id in candidates:
            released += _release(sessions, reservation_id)
        if len(candidates) < batch:
            return released


def _release(sessions: sessionmaker[Session], reservation_id: int) -> int:
    with sessions() as session, session.begin():
        # Re-checked under the row lock: a check-in or a cancel may have come in since the query above.
        reservation = session.scalar(
            _no_shows(1)
            .where(Reservation.id == reservation_id)
            .with_only_columns(Reservation)
            .with_for_update(of=Reservation, skip_locked=True)
        )
        if reservation is None:
            return 0
        service.cancel(session=session, reservation=reservation, reason=RELEASE_REASON, status=RELEASED)
    log.info("released a no-show", extra={"reservation_id": reservation_id})
    return 1
