"""Calendar feeds, parsed back with icalendar: every field the contract names, stable UIDs, rising SEQUENCE,
cancellations kept, DST instants right, secrets that reset, and the privacy of room feeds."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from icalendar import Calendar

from reservation_service import create_app
from reservation_service.config import Settings
from servicekit.settings import ConfigError
from servicekit_testing import TestKeys
from tests.conftest import room_event
from tests.test_reservations import book

ApplyEvent = Callable[..., bool]


def feed_path(client: FlaskClient, headers: dict[str, str]) -> str:
    response = client.get("/calendar/feed", headers=headers)
    assert response.status_code == 200, response.get_json()
    url = response.get_json()["url"]
    assert url.startswith("https://rooms.example.com/calendar/feeds/") and url.endswith(".ics")
    return str(url.removeprefix("https://rooms.example.com"))


def events(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.data[:300]
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.data)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_a_feed_has_every_field_and_keeps_cancellations(
    client: FlaskClient, employee: dict[str, str], apply_event: ApplyEvent
) -> None:
    apply_event(room_event(1, name="Everest", building="HQ", floor="3", timezone="Europe/Berlin"))
    kept = client.post(
        "/reservations",
        json={
            "room_id": 1,
            "start_time": "2030-03-31T10:00:00",
            "end_time": "2030-03-31T11:00:00",
            "purpose": "DST day",
        },
        headers=employee,
    ).get_json()
    dropped = book(client, employee, 30, 31, purpose=None).get_json()
    assert client.delete(f"/reservations/{dropped['id']}", headers=employee).status_code == 204
    path = feed_path(client, employee)
    assert feed_path(client, employee) == path  # the same until reset
    first = events(client.get(path))  # no bearer token: the secret is the credential
    event = first[f"reservation-{kept['id']}@meeting-room-system"]
    assert event["DTSTART"].dt == datetime(2030, 3, 31, 8, 0, tzinfo=UTC)  # 10:00 in Berlin, summer time
    assert event["DTEND"].dt == datetime(2030, 3, 31, 9, 0, tzinfo=UTC)
    assert str(event["SUMMARY"]) == "DST day" and str(event["LOCATION"]) == "Everest, HQ, floor 3"
    assert str(event["STATUS"]) == "CONFIRMED" and int(event["SEQUENCE"]) == 1
    assert event["DTSTAMP"].dt.tzinfo is not None
    cancelled = first[f"reservation-{dropped['id']}@meeting-room-system"]
    assert str(cancelled["STATUS"]) == "CANCELLED" and str(cancelled["SUMMARY"]) == "Everest"
    assert int(cancelled["SEQUENCE"]) == 2
    moved = client.patch(f"/reservations/{kept['id']}", json={"end_time": "2030-03-31T11:30:00"}, headers=employee)
    assert moved.status_code == 200
    second = events(client.get(path))
    assert set(second) == set(first)  # UIDs stable across requests
    assert int(second[f"reservation-{kept['id']}@meeting-room-system"]["SEQUENCE"]) == 2


def test_etags_let_calendar_apps_poll_cheaply(client: FlaskClient, employee: dict[str, str], room: int) -> None:
    book(client, employee, 10, 11)
    path = feed_path(client, employee)
    first = client.get(path)
    etag = first.headers["ETag"]
    unchanged = client.get(path, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b"" and unchanged.headers["ETag"] == etag
    book(client, employee, 12, 13)
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_reset_gives_a_new_url_and_the_old_one_is_404(client: FlaskClient, employee: dict[str, str], room: int) -> None:
    old = feed_path(client, employee)
    reset = client.post("/calendar/feed/reset", headers=employee)
    assert reset.status_code == 200
    new = reset.get_json()["url"].removeprefix("https://rooms.example.com")
    assert new != old and feed_path(client, employee) == new
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    secret = new.removeprefix("/calendar/feeds/").removesuffix(".ics")
    assert len(secret) >= 22  # at least 128 bits, url-safe
    tampered = f"/calendar/feeds/{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}.ics"
    for wrong in (tampered, "/calendar/feeds/nothing.ics", "/calendar/feeds/%00.ics", f"/calendar/feeds/{secret}x.ics"):
        assert client.get(wrong).status_code == 404, wrong


def test_another_user_s_secret_never_shows_your_bookings(
    client: FlaskClient, employee: dict[str, str], keys: TestKeys, room: int
) -> None:
    mine = book(client, employee, 10, 11).get_json()
    theirs = feed_path(client, keys.headers(user_id=3))
    assert f"reservation-{mine['id']}@meeting-room-system" not in events(client.get(theirs))


def test_room_feeds_show_others_as_busy(
    client: FlaskClient, employee: dict[str, str], admin: dict[str, str], keys: TestKeys, room: int
) -> None:
    mine = book(client, employee, 10, 11, purpose="My sync").get_json()
    other = book(client, keys.headers(user_id=3), 12, 13, purpose="Secret board meeting").get_json()
    mine_feed = events(client.get(feed_path(client, employee).replace(".ics", "/rooms/1.ics")))
    assert str(mine_feed[f"reservation-{mine['id']}@meeting-room-system"]["SUMMARY"]) == "My sync"
    assert str(mine_feed[f"reservation-{other['id']}@meeting-room-system"]["SUMMARY"]) == "Busy"
    assert b"Secret board meeting" not in client.get(feed_path(client, employee).replace(".ics", "/rooms/1.ics")).data
    assert client.get(feed_path(client, employee).replace(".ics", "/rooms/99.ics")).status_code == 404


def test_one_reservation_as_ics_for_its_owner_only(
    client: FlaskClient, employee: dict[str, str], keys: TestKeys, room: int
) -> None:
    created = book(client, employee, 10, 11).get_json()
    single = events(client.get(f"/calendar/reservations/{created['id']}.ics", headers=employee))
    assert list(single) == [f"reservation-{created['id']}@meeting-room-system"]
    assert client.get(f"/calendar/reservations/{created['id']}.ics", headers=keys.headers(user_id=3)).status_code == 404
    assert client.get(f"/calendar/reservations/{created['id']}.ics").status_code == 401
    assert client.get("/calendar/feed").status_code == 401


def test_a_deleted_user_s_feed_is_gone(
    client: FlaskClient, employee: dict[str, str], room: int, apply_event: ApplyEvent
) -> None:
    from tests.conftest import user_deleted

    path = feed_path(client, employee)
    apply_event(user_deleted(2), "user_events")
    assert client.get(path).status_code == 404


def test_without_a_key_feeds_are_off_and_a_short_key_is_refused(settings: Settings, employee: dict[str, str]) -> None:
    client = create_app(dataclasses.replace(settings, calendar_feed_key=None)).test_client()
    assert client.get("/calendar/feed", headers=employee).status_code == 404
    with pytest.raises(ConfigError):
        dataclasses.replace(settings, calendar_feed_key="short")
