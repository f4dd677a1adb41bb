"""Reading and writing instants: offsets, a room's IANA zone for times without one, DST gaps refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_HAS_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


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
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    if zone is None:
        raise TimeError("Must include a UTC offset, such as +02:00 or Z.")
    local = parsed.replace(tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != parsed:
        raise TimeError(f"{parsed.isoformat()} does not exist in {zone.key} (a daylight-saving gap).")
    return local.astimezone(UTC)


def in_zone(instant: datetime, zone_name: str) -> str:
    """An instant as ISO 8601 with the zone's UTC offset at that instant."""
    return instant.astimezone(ZoneInfo(zone_name)).isoformat()
