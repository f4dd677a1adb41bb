"""Series operations: every occurrence is an ordinary reservation, booked, changed and cancelled with its own
events; `fail` books all or nothing in one transaction, `skip` books the ones that can be."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reservation_service.access import hold_for_booking
from reservation_service.replica.models import Room
from reservation_service.reservations import booking, rules, service
from reservation_service.reservations.models import CONFIRMED, Reservation
from reservation_service.reservations.policy import Limits, check_quota, policy_errors, policy_problem
from reservation_service.series.models import FAIL, ReservationSeries
from reservation_service.series.recurrence import RuleError, occurrences, parse_rule
from reservation_service.times import in_zone
from servicekit.auth import Principal
from servicekit.db import utcnow
from servicekit.problems import Problem, validation_problem


def to_dict(
    series: ReservationSeries, zone: str, reservations: Sequence[Reservation | booking.Booked]
) -> dict[str, Any]:
    return {
        "id": series.id,
        "room_id": series.room_id,
        "user_id": series.user_id,
        "rrule": series.rrule,
        "start_time": in_zone(series.start_time, zone),
        "end_time": in_zone(series.end_time, zone),
        "purpose": series.purpose,
        "attendees": series.attendees,
        "reservations": [booking.to_dict(reservation, zone) for reservation in reservations],
        "skipped": series.skipped,
    }


def _expand(series_in: dict[str, Any], room: Room) -> tuple[str, list[rules.Window]]:
    window = rules.parse_window(series_in, room)
    rules.check_window(window, now=utcnow())
    try:
        rule = parse_rule(series_in["rrule"])
        instants = occurrences(rule, window.start, window.end, room.timezone)
    except RuleError as error:
        raise validation_problem([{"field": "rrule", "message": str(error)}]) from None
    return rule.text, [rules.Window(start, end) for start, end in instants]


def _skip(window: rules.Window, zone: str, reason: str, **details: Any) -> dict[str, Any]:
    return {
        "start_time": in_zone(window.start, zone),
        "end_time": in_zone(window.end, zone),
        "reason": reason,
        **details,
    }


def create_series(
    *, session: Session, series_in: dict[str, Any], user: Principal, limits: Limits
) -> tuple[ReservationSeries, Room, list[booking.Booked]]:
    room = rules.bookable_room(session, series_in["room_id"])
    rule_text, windows = _expand(series_in, room)
    rules.check_capacity(series_in["attendees"], room)
    now, fail = utcnow(), series_in["on_conflict"] == FAIL
    broken = {index: policy_errors(room, w.start, w.end, now=now, limits=limits) for index, w in enumerate(windows)}
    broken = {index: errors for index, errors in broken.items() if errors}
    if broken and (fail or len(broken) == len(windows)):
        raise _policy_problem(windows, broken, room.timezone)
    hold_for_booking(session, user.user_id, exclusive=limits.quota_applies(user))
    series = ReservationSeries(
        room_id=room.id,
        user_id=user.user_id,
        rrule=rule_text,
        start_time=windows[0].start,
        end_time=windows[0].end,
        purpose=series_in["purpose"],
        attendees=series_in["attendees"],
        skipped=[],
    )
    session.add(series)
    session.flush()
    booked, skipped, clashes = [], [], []
    for index, window in enumerate(windows):
        if index in broken:
            skipped.append(_skip(window, room.timezone, "policy", errors=broken[index]))
            continue
        values = {**series_in, "start_time": window.start, "end_time": window.end}
        try:
            reservation = booking.book(
                session=session, room=room, window=window, values=values, user=user, series=series
            )
        except Problem as problem:
            if problem.status != 409:
                raise
            conflicts = problem.extra["conflicts"]
            clashes.append(_skip(window, room.timezone, "conflict", conflicts=conflicts))
            continue
        booked.append(reservation)
    if clashes and (fail or not booked):
        raise Problem(
            409,
            f"{len(clashes)} of the {len(windows)} occurrences overlap confirmed reservations; nothing was booked.",
            slug="reservation-conflict",
            title="Reservation conflict",
            conflicts=[{key: clash[key] for key in ("start_time", "end_time", "conflicts")} for clash in clashes],
        )
    check_quota(session, user, limits=limits, now=now, adding=0)  # the new occurrences are counted already
    series.skipped = sorted(skipped + clashes, key=lambda item: item["start_time"])
    return series, room, booked


def _policy_problem(windows: list[rules.Window], broken: dict[int, list[Any]], zone: str) -> Problem:
    errors = [
        {**error, "occurrence": in_zone(windows[index].start, zone)} for index, errs in broken.items() for error in errs
    ]
    first = in_zone(windows[min(broken)].start, zone)
    return policy_problem(errors, f"{len(broken)} occurrences break the room's booking policy, the first at {first}.")


def _visible(session: Session, series_id: int, viewer: Principal) -> tuple[ReservationSeries, Room]:
    series = session.get(ReservationSeries, series_id)
    if series is None or not (viewer.is_admin or series.user_id == viewer.user_id):
        raise Problem(404, f"Series {series_id} does not exist.")
    room = Room.get(session, series.room_id)
    return series, room


def _occurrences(session: Session, series: ReservationSeries, *, lock: bool = False) -> list[Reservation]:
    query = sa.select(Reservation).where(Reservation.series_id == series.id).order_by(Reservation.start_time)
    return list(session.scalars(query.with_for_update() if lock else query))


def get_series(
    *, session: Session, series_id: int, viewer: Principal
) -> tuple[ReservationSeries, Room, list[Reservation]]:
    series, room = _visible(session, series_id, viewer)
    return series, room, _occurrences(session, series)


def update_series(
    *, session: Session, series_id: int, changes: dict[str, Any], user: Principal
) -> tuple[ReservationSeries, Room, list[Reservation]]:
    """New purpose or attendees for the series and every confirmed occurrence not yet started."""
    series, room = _visible(session, series_id, user)
    if "attendees" in changes:
        rules.check_capacity(changes["attendees"], room)
    now = utcnow()
    for key, value in changes.items():
        setattr(series, key, value)
    for reservation in _occurrences(session, series, lock=True):
        if reservation.status != CONFIRMED or reservation.start_time <= now:
            continue
        if all(getattr(reservation, key) == value for key, value in changes.items()):
            continue
        for key, value in changes.items():
            setattr(reservation, key, value)
        reservation.version += 1
        booking.publish(session, reservation, "reservation_updated", room.timezone)
    return series, room, _occurrences(session, series)


def cancel_series(*, session: Session, series_id: int, user: Principal, from_: datetime | None) -> None:
    """Cancel the confirmed occurrences starting at or after `from_` (never earlier than now)."""
    series, _ = _visible(session, series_id, user)
    now = utcnow()
    since = max(from_ or now, now)
    reason = "cancelled by an admin" if user.is_admin and user.user_id != series.user_id else "cancelled"
    for reservation in _occurrences(session, series, lock=True):
        if reservation.status == CONFIRMED and reservation.start_time >= since:
            service.cancel(session=session, reservation=reservation, reason=reason)
