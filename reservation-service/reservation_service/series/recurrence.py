"""Recurring meetings: the RRULE subset the API takes, and its occurrences in a room's time zone.

Occurrences keep the first one's local start and end times across DST changes; a local time that falls in
a DST gap moves forward by the gap (RFC 5545), and a day that does not exist (the 31st in April) has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from itertools import islice
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil import rrule

from reservation_service.times import FIRST_YEAR, LAST_YEAR

MAX_OCCURRENCES = 365
Frequency = Literal[1, 2, 3]  # dateutil's MONTHLY, WEEKLY, DAILY
FREQUENCIES: dict[str, Frequency] = {"DAILY": rrule.DAILY, "WEEKLY": rrule.WEEKLY, "MONTHLY": rrule.MONTHLY}
WEEKDAYS = {
    "MO": rrule.MO,
    "TU": rrule.TU,
    "WE": rrule.WE,
    "TH": rrule.TH,
    "FR": rrule.FR,
    "SA": rrule.SA,
    "SU": rrule.SU,
}
_BYDAY = re.compile(r"([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)", re.ASCII)
_INTEGER = re.compile(r"[+-]?[0-9]{1,4}", re.ASCII)
_UNTIL = re.compile(r"([0-9]{8})(T[0-9]{6}Z)?", re.ASCII)


class RuleError(ValueError):
    """An RRULE the API does not take; the message is shown to the client on the `rrule` field."""


@dataclass(frozen=True)
class Rule:
    text: str  # normalized: no RRULE: prefix, upper case
    frequency: Frequency
    interval: int
    by_weekday: tuple[rrule.weekday, ...] | None
    by_month_day: tuple[int, ...] | None
    count: int | None
    until: datetime | date | None  # an aware UTC instant (…Z), or a local date (inclusive)


def _integer(name: str, value: str, low: int, high: int) -> int:
    if not _INTEGER.fullmatch(value) or not low <= int(value) <= high:
        raise RuleError(f"{name} must be a whole number from {low} to {high}.")
    return int(value)


def _weekdays(value: str, frequency: str) -> tuple[rrule.weekday, ...]:
    days = []
    for item in value.split(","):
        match = _BYDAY.fullmatch(item)
        if not match:
            raise RuleError("BYDAY takes weekdays MO, TU, WE, TH, FR, SA, SU.")
        ordinal, day = match.groups()
        if ordinal and frequency != "MONTHLY":
            raise RuleError("BYDAY takes a numbered weekday (2TU) only with FREQ=MONTHLY.")
        days.append(WEEKDAYS[day](int(ordinal)) if ordinal else WEEKDAYS[day])
    return tuple(days)


def _until(value: str) -> datetime | date:
    match = _UNTIL.fullmatch(value)
    if not match:
        raise RuleError("UNTIL must be a date (20300131) or a UTC date and time (20300131T090000Z).")
    try:
        if match.group(2):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise RuleError("UNTIL is not a real date.") from None


def parse_rule(text: object) -> Rule:
    if not isinstance(text, str) or not text.strip():
        raise RuleError("Must be an RRULE value such as FREQ=WEEKLY;COUNT=10.")
    normalized = text.strip().upper().removeprefix("RRULE:")
    parts: dict[str, str] = {}
    for part in normalized.split(";"):
        name, sep, value = part.partition("=")
        if not sep or not value:
            raise RuleError(f"{part!r} is not NAME=VALUE.")
        if name in parts:
            raise RuleError(f"{name} is given twice.")
        parts[name] = value
    unknown = sorted(set(parts) - {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL"})
    if unknown:
        raise RuleError(f"{', '.join(unknown)} not supported: use FREQ, INTERVAL, BYDAY, BYMONTHDAY, COUNT or UNTIL.")
    frequency = parts.get("FREQ")
    if frequency not in FREQUENCIES:
        raise RuleError("FREQ must be DAILY, WEEKLY or MONTHLY.")
    if ("COUNT" in parts) == ("UNTIL" in parts):
        raise RuleError("Give exactly one of COUNT or UNTIL.")
    month_days = None
    if "BYMONTHDAY" in parts:
        month_days = tuple(_integer("BYMONTHDAY", day, -31, 31) for day in parts["BYMONTHDAY"].split(","))
        if 0 in month_days:
            raise RuleError("BYMONTHDAY takes 1 to 31 or -31 to -1.")
    return Rule(
        text=normalized,
        frequency=FREQUENCIES[frequency],
        interval=_integer("INTERVAL", parts.get("INTERVAL", "1"), 1, 1000),
        by_weekday=_weekdays(parts["BYDAY"], frequency) if "BYDAY" in parts else None,
        by_month_day=month_days,
        count=_integer("COUNT", parts["COUNT"], 1, MAX_OCCURRENCES) if "COUNT" in parts else None,
        until=_until(parts["UNTIL"]) if "UNTIL" in parts else None,
    )


def occurrences(rule: Rule, start: datetime, end: datetime, zone_name: str) -> list[tuple[datetime, datetime]]:
    """The occurrences as UTC instants, the first being [start, end), which must match the rule."""
    zone = ZoneInfo(zone_name)
    local_start = start.astimezone(zone).replace(tzinfo=None)
    local_length = end.astimezone(zone).replace(tzinfo=None) - local_start  # wall-clock length, kept every time
    until = None
    if isinstance(rule.until, datetime):
        until = rule.until.astimezone(zone).replace(tzinfo=None)
    elif isinstance(rule.until, date):
        until = datetime.combine(rule.until, time.max)
    generator = rrule.rrule(
        rule.frequency,
        dtstart=local_start,
        interval=rule.interval,
        byweekday=rule.by_weekday,
        bymonthday=rule.by_month_day,
        count=rule.count,
        until=until,
    )
    local_starts = list(islice(generator, MAX_OCCURRENCES + 1))
    if not local_starts or local_starts[0] != local_start:
        raise RuleError("start_time must itself be an occurrence of the rule.")
    if len(local_starts) > MAX_OCCURRENCES:
        raise RuleError(f"The rule gives more than {MAX_OCCURRENCES} occurrences.")
    out = []
    for local in local_starts:
        # fold=0 reads a time in a DST gap with the offset before it: later by the gap, as RFC 5545 says;
        # the whole meeting moves by the gap, so it keeps its length.
        occurrence_start = local.replace(tzinfo=zone).astimezone(UTC)
        gap = occurrence_start.astimezone(zone).replace(tzinfo=None) - local
        occurrence_end = (local + local_length + gap).replace(tzinfo=zone).astimezone(UTC)
        if occurrence_end.year > LAST_YEAR or occurrence_start.year < FIRST_YEAR:
            raise RuleError(f"Occurrences must lie in the years {FIRST_YEAR} to {LAST_YEAR}.")
        out.append((occurrence_start, occurrence_end))
    return out
