"""The booking rules, in plain code: what a reservation's window, size and state must satisfy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from reservation_service.replica.models import Room
from reservation_service.reservations.models import CONFIRMED, Reservation
from reservation_service.times import TimeError, parse_instant
from servicekit.problems import Problem, validation_problem


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def bookable_room(session: Session, room_id: int) -> Room:
    room = Room.find(session, room_id)
    if room is None or not room.bookable:
        raise Problem(
            422,
            f"Room {room_id} is not known here or is not bookable; a room just created may take a moment to arrive.",
            slug="unknown-room",
            title="Unknown room",
            errors=[{"field": "room_id", "message": "Unknown or inactive room."}],
        )
    return room


def parse_window(values: dict[str, Any], room: Room) -> Window:
    """Read start_time and end_time in the room's zone (offsets win); field errors are 422."""
    zone = ZoneInfo(room.timezone)
    errors: list[dict[str, Any]] = []
    parsed: dict[str, datetime] = {}
    for field in ("start_time", "end_time"):
        value = values[field]
        if isinstance(value, datetime):  # unchanged on an update: already an instant
            parsed[field] = value
            continue
        try:
            parsed[field] = parse_instant(value, zone)
        except TimeError as error:
            errors.append({"field": field, "message": str(error)})
    if errors:
        raise validation_problem(errors)
    return Window(parsed["start_time"], parsed["end_time"])


def check_window(window: Window, *, now: datetime, start_must_be_future: bool = True) -> None:
    """What every reservation must satisfy whatever its room: start before end, and not in the past."""
    errors = []
    if window.start >= window.end:
        errors.append({"field": "end_time", "message": "Must be after start_time."})
    if start_must_be_future and window.start < now:
        errors.append({"field": "start_time", "message": "Must not be in the past."})
    if window.end <= now:  # a change may shorten a meeting in progress, never end it in the past
        errors.append({"field": "end_time", "message": "Must be in the future."})
    if errors:
        raise validation_problem(errors)


def check_capacity(attendees: int, room: Room) -> None:
    if attendees > room.capacity:
        raise validation_problem([{"field": "attendees", "message": f"The room holds at most {room.capacity} people."}])


def check_changeable(reservation: Reservation, now: datetime) -> None:
    """Cancelled, released and finished reservations are history: 409, they cannot change."""
    if reservation.status != CONFIRMED:
        raise Problem(
            409, f"This reservation is {reservation.status} and can no longer change.", slug="reservation-cancelled"
        )
    if reservation.end_time <= now:
        raise Problem(409, "This reservation has ended and can no longer change.", slug="reservation-finished")
