"""Reservations as RFC 5545 calendars, with the icalendar library."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, timedelta

import sqlalchemy as sa
from icalendar import Calendar, Event
from sqlalchemy.orm import Session

from reservation_service.replica.models import Room, RoomReplica
from reservation_service.reservations.models import CONFIRMED, Reservation
from servicekit.db import utcnow

PRODID = "-//Meeting Room Reservation System//Room bookings//EN"
FEED_HISTORY = timedelta(days=30)  # a person's feed keeps bookings this long after their end
ROOM_PAST, ROOM_AHEAD = timedelta(days=7), timedelta(days=90)


def calendar(name: str, events: Iterable[Event]) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(event)
    return bytes(cal.to_ical())


def location(room: Room | RoomReplica) -> str:
    floor = f"floor {room.floor}" if room.floor else None
    return ", ".join(part for part in (room.name, room.building, floor) if part)


def event(reservation: Reservation, room: Room | RoomReplica, *, private: bool = False) -> Event:
    """One VEVENT; `private` hides purpose and owner (someone else's booking in a room feed)."""
    item = Event()
    item.add("uid", f"reservation-{reservation.id}@meeting-room-system")
    item.add("dtstamp", reservation.updated_at.astimezone(UTC))
    item.add("dtstart", reservation.start_time.astimezone(UTC))
    item.add("dtend", reservation.end_time.astimezone(UTC))
    item.add("summary", "Busy" if private else (reservation.purpose or room.name))
    item.add("location", location(room))
    item.add("sequence", reservation.version)
    item.add("status", "CONFIRMED" if reservation.status == CONFIRMED else "CANCELLED")
    return item


def user_feed(session: Session, user_id: int) -> bytes:
    """The user's reservations that ended at most 30 days ago or later, cancelled and released ones too."""
    rows = session.execute(
        sa.select(Reservation, RoomReplica)
        .join(RoomReplica, RoomReplica.id == Reservation.room_id)
        .where(Reservation.user_id == user_id, Reservation.end_time >= utcnow() - FEED_HISTORY)
        .order_by(Reservation.start_time, Reservation.id)
    ).all()
    return calendar("My room bookings", (event(reservation, room) for reservation, room in rows))


def room_feed(session: Session, room: Room, *, viewer_id: int, viewer_is_admin: bool) -> bytes:
    """A room's confirmed reservations from 7 days back to 90 ahead; others' as Busy, as availability shows."""
    now = utcnow()
    rows = session.scalars(
        sa.select(Reservation)
        .where(Reservation.room_id == room.id, Reservation.status == CONFIRMED)
        .where(Reservation.end_time > now - ROOM_PAST, Reservation.start_time < now + ROOM_AHEAD)
        .order_by(Reservation.start_time, Reservation.id)
    ).all()
    events = (
        event(reservation, room, private=not (viewer_is_admin or reservation.user_id == viewer_id))
        for reservation in rows
    )
    return calendar(room.name, events)


def single(reservation: Reservation, room: Room) -> bytes:
    return calendar(room.name, [event(reservation, room)])
