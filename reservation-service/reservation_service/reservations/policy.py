"""The room's booking policy, enforced on every booking: horizon, duration, opening hours; the per-user
quota of upcoming reservations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reservation_service.replica.models import Room
from reservation_service.reservations.models import CONFIRMED, Reservation
from servicekit.auth import Principal
from servicekit.problems import Problem

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Limits:
    """The service-wide limits: the longest booking where the room sets none, and the per-user quota."""

    max_hours: int
    max_upcoming: int | None = None

    def quota_applies(self, user: Principal) -> bool:
        """A user's bookings must then take turns (check_quota counts under that user's exclusive lock)."""
        return self.max_upcoming is not None and not user.is_admin


def _instant(day: date, clock: str, zone: ZoneInfo) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    if hours == 24:
        day, hours = day + timedelta(days=1), 0
    return datetime.combine(day, time(hours, minutes), tzinfo=zone).astimezone(UTC)


class HasOpeningHours(Protocol):
    """A room, or a row of the room replica's columns: what opening hours are judged on."""

    @property
    def opening_hours(self) -> dict[str, Any] | None: ...

    @property
    def timezone(self) -> str: ...


def open_intervals(room: HasOpeningHours, start: datetime, end: datetime) -> list[Interval] | None:
    """The room's open time around [start, end) as UTC instants, intervals that touch joined (across
    midnight too); None when the room is always open."""
    if room.opening_hours is None:
        return None
    zone = ZoneInfo(room.timezone)
    day, last = start.astimezone(zone).date() - timedelta(days=1), end.astimezone(zone).date()
    joined: list[Interval] = []
    while day <= last:
        for item in room.opening_hours.get(WEEKDAYS[day.weekday()], []):
            opens, closes = _instant(day, item["start"], zone), _instant(day, item["end"], zone)
            if joined and opens <= joined[-1][1]:
                joined[-1] = (joined[-1][0], max(joined[-1][1], closes))
            else:
                joined.append((opens, closes))
        day += timedelta(days=1)
    return joined


ALWAYS = [{"start": "00:00", "end": "24:00"}]


def is_open(room: HasOpeningHours, start: datetime, end: datetime) -> bool:
    if room.opening_hours is None or all(room.opening_hours.get(day) == ALWAYS for day in WEEKDAYS):
        return True
    # A room closed at some moment of the week cannot be open for more than a week on end: answered without
    # walking the days of a window that may span centuries.
    if end - start > timedelta(days=8):
        return False
    intervals = open_intervals(room, start, end) or []
    return any(opens <= start and end <= closes for opens, closes in intervals)


def policy_errors(room: Room, start: datetime, end: datetime, *, now: datetime, limits: Limits) -> list[Any]:
    """What of the room's policy a booking [start, end) breaks, as field errors."""
    errors = []
    if room.max_days_ahead is not None and start > now + timedelta(days=room.max_days_ahead):
        errors.append({"field": "start_time", "message": f"Must be at most {room.max_days_ahead} days ahead."})
    longest = room.max_duration_minutes or limits.max_hours * 60
    if end - start > timedelta(minutes=longest):
        errors.append(
            {"field": "end_time", "message": f"A reservation of this room may last at most {longest} minutes."}
        )
    if not is_open(room, start, end):
        errors.append({"field": "start_time", "message": "Must lie within the room's opening hours."})
    return errors


def policy_problem(errors: list[Any], detail: str = "The booking breaks the room's booking policy.") -> Problem:
    return Problem(422, detail, slug="policy-violation", title="Booking policy violated", errors=errors)


def check_policy(room: Room, start: datetime, end: datetime, *, now: datetime, limits: Limits) -> None:
    errors = policy_errors(room, start, end, now=now, limits=limits)
    if errors:
        raise policy_problem(errors)


_UPCOMING = (
    sa.select(sa.func.count())
    .select_from(Reservation)
    .where(
        Reservation.user_id == sa.bindparam("user_id"),
        Reservation.status == CONFIRMED,
        Reservation.end_time > sa.bindparam("now"),
    )
)


def check_quota(session: Session, user: Principal, *, limits: Limits, now: datetime, adding: int = 1) -> None:
    """At most `max_upcoming` confirmed reservations that have not ended, admins exempt. The caller holds
    the user's booking lock exclusively (users.access.hold_for_booking), so two parallel bookings of one
    user cannot both pass."""
    if limits.max_upcoming is None or user.is_admin:
        return
    upcoming = session.connection().execute(_UPCOMING, {"user_id": user.user_id, "now": now}).scalar() or 0
    if upcoming + adding > limits.max_upcoming:
        raise quota_problem(limits.max_upcoming, upcoming)


def quota_problem(max_upcoming: int, upcoming: int) -> Problem:
    return Problem(
        422,
        f"You may hold at most {max_upcoming} upcoming reservations; you hold {upcoming}.",
        slug="quota-exceeded",
        title="Quota exceeded",
        errors=[{"field": None, "message": f"At most {max_upcoming} upcoming reservations."}],
    )
