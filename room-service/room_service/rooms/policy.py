"""A room's booking policy: how far ahead, how long, the buffer after each meeting, opening hours and
check-in. Validated here; carried in room events; enforced by the reservation service."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma

from servicekit.schemas import Integer, StrictBoolean

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_START = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]", re.ASCII)
_END = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00", re.ASCII)

MAX_DAYS_AHEAD = ma.validate.Range(min=1, max=3650)
MAX_DURATION = ma.validate.Range(min=15, max=1440)
BUFFER = ma.validate.Range(min=0, max=240)
CHECK_IN = ma.validate.Range(min=1, max=120)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_intervals(day: str, value: Any) -> list[tuple[int, int]]:
    if not isinstance(value, list):
        raise ma.ValidationError(f"{day}: must be a list of {{start, end}} intervals.")
    intervals = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"start", "end"}:
            raise ma.ValidationError(f'{day}: each interval is {{"start": "HH:MM", "end": "HH:MM"}}.')
        start, end = item["start"], item["end"]
        if not isinstance(start, str) or not _START.fullmatch(start):
            raise ma.ValidationError(f"{day}: start must be HH:MM, 00:00 to 23:59.")
        if not isinstance(end, str) or not _END.fullmatch(end):
            raise ma.ValidationError(f"{day}: end must be HH:MM, 00:01 to 24:00.")
        if _minutes(start) >= _minutes(end):
            raise ma.ValidationError(f"{day}: start must be before end (an overnight opening is two days).")
        intervals.append((_minutes(start), _minutes(end)))
    return intervals


def _joined(day: str, intervals: list[tuple[int, int]]) -> list[dict[str, str]]:
    """Sorted, adjacent intervals joined into one; overlapping ones refused."""
    joined: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if joined and start < joined[-1][1]:
            raise ma.ValidationError(f"{day}: intervals overlap.")
        if joined and start == joined[-1][1]:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return [{"start": _clock(start), "end": _clock(end)} for start, end in joined]


class OpeningHours(ma.fields.Field[dict[str, list[dict[str, str]]]]):
    """`null` (always open) or `{"mon": [{"start": "08:00", "end": "18:00"}], ...}` in the room's zone."""

    def __init__(self, **kwargs: Any) -> None:
        interval = {
            "type": "object",
            "properties": {"start": {"type": "string", "example": "08:00"}, "end": {"type": "string"}},
            "required": ["start", "end"],
            "additionalProperties": False,
        }
        kwargs.setdefault(
            "metadata",
            {
                "type": "object",
                "nullable": True,
                "properties": {day: {"type": "array", "items": interval} for day in DAYS},
                "additionalProperties": False,
                "description": "Open times per weekday (mon..sun), HH:MM in the room's time zone, end may be "
                "24:00; a missing day or [] is closed; null is always open. Adjacent intervals are joined.",
                "example": {"mon": [{"start": "08:00", "end": "18:00"}]},
            },
        )
        super().__init__(allow_none=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ma.ValidationError("Must be null or an object keyed by mon..sun.")
        unknown = sorted(set(value) - set(DAYS))
        if unknown:
            raise ma.ValidationError(f"Unknown day(s) {', '.join(map(str, unknown))}: use mon..sun.")
        return {day: _joined(day, _day_intervals(day, value[day])) for day in DAYS if day in value}


class PolicyCreate(ma.Schema):
    """The policy fields of a new room, with their defaults."""

    # No load_default: absent means the service's DEFAULT_MAX_DAYS_AHEAD, null means no limit.
    max_days_ahead = Integer(strict=True, allow_none=True, validate=MAX_DAYS_AHEAD)
    max_duration_minutes = Integer(strict=True, allow_none=True, validate=MAX_DURATION, load_default=None)
    buffer_minutes = Integer(strict=True, validate=BUFFER, load_default=0)
    opening_hours = OpeningHours(load_default=None)
    requires_check_in = StrictBoolean(load_default=False)
    check_in_minutes = Integer(strict=True, validate=CHECK_IN, load_default=15)


class PolicyUpdate(ma.Schema):
    """The policy fields of a partial update: only those given change."""

    max_days_ahead = Integer(strict=True, allow_none=True, validate=MAX_DAYS_AHEAD)
    max_duration_minutes = Integer(strict=True, allow_none=True, validate=MAX_DURATION)
    buffer_minutes = Integer(strict=True, validate=BUFFER)
    opening_hours = OpeningHours()
    requires_check_in = StrictBoolean()
    check_in_minutes = Integer(strict=True, validate=CHECK_IN)


class PolicyRead(ma.Schema):
    max_days_ahead = Integer(allow_none=True)
    max_duration_minutes = Integer(allow_none=True)
    buffer_minutes = Integer()
    opening_hours = ma.fields.Dict(allow_none=True)
    requires_check_in = ma.fields.Boolean()
    check_in_minutes = Integer()


POLICY_FIELDS = tuple(PolicyRead().fields)
