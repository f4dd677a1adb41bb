"""Reading and writing instants: offsets, a room's IANA zone for times without one, DST gaps refused."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
import orjson

_HAS_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", re.ASCII)
# Instants anywhere in the API lie in these years, in the zone they were written in and in UTC: far enough
# from the ends of Python's calendar (years 1 and 9999) that no conversion between zones can overflow.
FIRST_YEAR, LAST_YEAR = 1970, 9000
OUT_OF_RANGE = f"Must lie in the years {FIRST_YEAR} to {LAST_YEAR}."


class TimeError(ValueError):
    """A time value the API refuses; the message is shown to the client."""


def parse_instant(value: object, zone: ZoneInfo | None) -> datetime:
    """ISO 8601 to an aware UTC datetime; without an offset it is read in `zone` (required if None)."""
    if not isinstance(value, str) or not _HAS_TIME.match(value.strip()):
        raise TimeError("Must be an ISO 8601 date and time, such as 2026-07-01T10:00:00+02:00.")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise TimeError("Must be an ISO 8601 date and time, such as 2026-07-01T10:00:00+02:00.") from None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise TimeError(OUT_OF_RANGE)
    if parsed.tzinfo is not None:
        instant = parsed.astimezone(UTC)
    elif zone is None:
        raise TimeError("Must include a UTC offset, such as +02:00 or Z.")
    else:
        local = parsed.replace(tzinfo=zone)
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != parsed:
            raise TimeError(f"{parsed.isoformat()} does not exist in {zone.key} (a daylight-saving gap).")
        instant = local.astimezone(UTC)
    if not FIRST_YEAR <= instant.year <= LAST_YEAR:
        raise TimeError(OUT_OF_RANGE)
    return instant


def check_day(day: date) -> None:
    """A calendar day of the API: within the years of instants."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ma.ValidationError(OUT_OF_RANGE)


# The last UTC offset with seconds in the tz database ended in 1972 (Africa/Monrovia, -00:44:30).
WHOLE_MINUTE_OFFSETS_SINCE = 1973


def in_zone(instant: datetime, zone_name: str) -> str:
    """An instant as ISO 8601 with the zone's UTC offset at that instant (UTC if the zone's calendar ends
    first: rows older than the year limits must stay readable)."""
    local = local_instant(instant, zone_name)
    # orjson writes the same ISO 8601 text as isoformat(), in a third of the time.
    return local if isinstance(local, str) else orjson.dumps(local)[1:-1].decode()


def local_instant(instant: datetime, zone_name: str) -> datetime | str:
    """The instant in the zone, for a response body: the JSON encoder (orjson) writes it as in_zone would,
    without a string made first (a page of 50 reservations has 200 instants). As text where orjson's would
    differ: it drops the seconds of an offset, which only zones before 1973 had."""
    try:
        local = instant.astimezone(ZoneInfo(zone_name))
    except OverflowError:
        return instant.astimezone(UTC).isoformat()
    return local if local.year >= WHOLE_MINUTE_OFFSETS_SINCE else local.isoformat()


def local_day(day: date, zone_name: str) -> tuple[datetime, datetime]:
    """The instants bounding a local calendar day in a zone: 23, 24 or 25 hours long."""
    zone = ZoneInfo(zone_name)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


class AwareDateTime(ma.fields.Field[datetime]):
    """A query or body instant that must carry its UTC offset (several rooms, several zones)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        try:
            return parse_instant(value, None)
        except TimeError as error:
            raise ma.ValidationError(str(error)) from None

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return value.isoformat() if value is not None else None
