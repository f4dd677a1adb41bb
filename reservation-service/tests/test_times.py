"""in_zone writes an instant as ISO 8601 in a room's zone, exactly as datetime.isoformat() would; a response
body's local_instant reads the same once the JSON encoder has written it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from reservation_service.times import in_zone, local_instant
from servicekit.bodies import JSONProvider

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/St_Johns",  # -03:30 / -02:30
    "Asia/Kolkata",  # +05:30
    "Pacific/Chatham",  # +12:45 / +13:45
    "Australia/Eucla",  # +08:45
    "Africa/Monrovia",  # -00:44:30 until 1972: an offset with seconds
    "America/New_York",
]
INSTANTS = [
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1971, 6, 1, 12, 0, 30, tzinfo=UTC),
    datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),  # around a DST change in Berlin
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2030, 7, 1, 9, 30, 5, 123000, tzinfo=UTC),
    datetime(8999, 12, 31, 23, 59, 59, tzinfo=UTC),
]


@pytest.mark.parametrize("zone", ZONES)
def test_the_same_text_as_isoformat(zone: str) -> None:
    for instant in INSTANTS:
        assert in_zone(instant, zone) == instant.astimezone(ZoneInfo(zone)).isoformat(), (zone, instant)


@pytest.mark.parametrize("zone", ZONES)
def test_a_response_body_reads_the_same_text(zone: str) -> None:
    provider = JSONProvider(Flask(__name__))
    for instant in [*INSTANTS, datetime(9999, 12, 31, 23, tzinfo=UTC)]:  # the last: past some zones' calendars
        written = json.loads(provider.dumps({"at": local_instant(instant, zone)}))
        assert written == {"at": in_zone(instant, zone)}, (zone, instant)


def test_an_offset_with_seconds_keeps_them() -> None:
    assert in_zone(datetime(1971, 6, 1, 12, tzinfo=UTC), "Africa/Monrovia") == "1971-06-01T11:15:30-00:44:30"


def test_an_instant_another_offset_gave_reads_the_same() -> None:
    instant = datetime(2030, 1, 1, 8, tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo")) + timedelta(microseconds=1)
    assert in_zone(instant, "Europe/Berlin") == "2030-01-01T09:00:00.000001+01:00"
