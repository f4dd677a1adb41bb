"""Check-in and calendar feeds through the gateway: the real scheduler process releases no-shows (and a
standby takes over when it dies), and feeds are served, cached, rate-limited per URL and never logged."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import pytest
import requests
from icalendar import Calendar

from devstack.harness import Stack
from tests.test_slice import book_when_known, create_room


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def backdate(stack: Stack, reservation_id: int, minutes_ago: int) -> None:
    """Let a booking's check-in deadline pass now: the API rightly refuses to book in the past."""
    start = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    url = stack.config.database_url("reservation").replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "UPDATE reservations SET start_time = %s, end_time = %s, occupied_until = %s WHERE id = %s",
            (start, start + timedelta(hours=1), start + timedelta(hours=1), reservation_id),
        )


def status(stack: Stack, headers: dict[str, str], reservation_id: int) -> str:
    return str(
        requests.get(f"{stack.gateway}/reservations/{reservation_id}", headers=headers, timeout=10).json()["status"]
    )


@pytest.fixture
def check_in_room(stack: Stack, admin: dict[str, str], request: pytest.FixtureRequest) -> dict[str, Any]:
    """A room of the test's own (its no-shows are moved to now, where other tests' would collide)."""
    return create_room(stack, admin, f"Check-in {request.node.name[:60]}", requires_check_in=True, check_in_minutes=5)


def book_slot(stack: Stack, headers: dict[str, str], room_id: int, day: int) -> int:
    start = (datetime.now(UTC) + timedelta(days=day)).replace(hour=9, minute=0, second=0, microsecond=0)
    response = book_when_known(stack, headers, room_id, start.isoformat(), (start + timedelta(hours=1)).isoformat())
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_the_scheduler_releases_no_shows_and_never_a_checked_in_meeting(
    stack: Stack, admin: dict[str, str], employee: dict[str, str], check_in_room: dict[str, Any]
) -> None:
    no_show = book_slot(stack, employee, check_in_room["id"], 2)
    present = book_slot(stack, employee, check_in_room["id"], 3)
    backdate(stack, present, 2)
    checked = requests.post(f"{stack.gateway}/reservations/{present}/check-in", headers=employee, timeout=10)
    assert checked.status_code == 200 and checked.json()["checked_in_at"], checked.text
    backdate(stack, present, 120)  # over, and checked in: never released
    backdate(stack, no_show, 6)
    wait_for(lambda: status(stack, employee, no_show) == "released", "the scheduler never released the no-show")
    assert status(stack, employee, present) == "confirmed"
    body = requests.get(f"{stack.gateway}/reservations/{no_show}", headers=employee, timeout=10).json()
    assert body["cancel_reason"] == "not checked in" and body["cancelled_at"]
    # The slot is someone else's to take now.
    start = datetime.fromisoformat(body["start_time"]) + timedelta(minutes=30)
    taken = requests.post(
        f"{stack.gateway}/reservations",
        json={
            "room_id": check_in_room["id"],
            "start_time": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
            "end_time": (start + timedelta(minutes=20)).isoformat(),
        },
        headers=admin,
        timeout=10,
    )
    assert taken.status_code == 201, taken.text
    metrics = requests.get(f"{stack.health('reservation-scheduler')}/metrics", timeout=10).text
    assert "scheduler_released_total" in metrics


def test_a_standby_scheduler_takes_over(stack: Stack, employee: dict[str, str], check_in_room: dict[str, Any]) -> None:
    stack.start("reservation-scheduler-2")
    try:

        def active(name: str) -> bool:
            return bool(requests.get(f"{stack.health(name)}/healthz", timeout=5).json().get("active"))

        wait_for(lambda: active("reservation-scheduler"), "the first scheduler is not active")
        assert not active("reservation-scheduler-2")
        stack.kill("reservation-scheduler")
        no_show = book_slot(stack, employee, check_in_room["id"], 4)
        backdate(stack, no_show, 6)
        wait_for(lambda: status(stack, employee, no_show) == "released", "no standby took over", timeout_s=60)
        assert active("reservation-scheduler-2")
    finally:
        stack.stop("reservation-scheduler-2")
        stack.start("reservation-scheduler")


def test_feeds_through_the_gateway_cached_limited_per_url_and_never_logged(
    stack: Stack, employee: dict[str, str], admin: dict[str, str], check_in_room: dict[str, Any]
) -> None:
    reservation = book_slot(stack, employee, check_in_room["id"], 5)
    url = requests.get(f"{stack.gateway}/calendar/feed", headers=employee, timeout=10).json()["url"]
    assert url.startswith(f"http://localhost:{stack.config.gateway_port}/calendar/feeds/")
    path = url.removeprefix(f"http://localhost:{stack.config.gateway_port}")
    feed = requests.get(f"{stack.gateway}{path}", timeout=10)
    assert feed.status_code == 200 and feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
    uids = [str(event["UID"]) for event in Calendar.from_ical(feed.content).walk("VEVENT")]
    assert f"reservation-{reservation}@meeting-room-system" in uids
    cached = requests.get(f"{stack.gateway}{path}", headers={"If-None-Match": feed.headers["ETag"]}, timeout=10)
    assert cached.status_code == 304
    answers = [requests.get(f"{stack.gateway}{path}", timeout=10).status_code for _ in range(30)]
    assert 429 in answers and set(answers) <= {200, 429}, answers
    limited = requests.get(f"{stack.gateway}{path}", timeout=10)
    assert limited.headers["Content-Type"] == "application/problem+json"
    other = requests.get(f"{stack.gateway}/calendar/feed", headers=admin, timeout=10).json()["url"]
    other_path = other.removeprefix(f"http://localhost:{stack.config.gateway_port}")
    assert requests.get(f"{stack.gateway}{other_path}", timeout=10).status_code == 200  # its own budget
    secret = path.removeprefix("/calendar/feeds/").removesuffix(".ics")
    for name in ("gateway", "reservation-web"):
        assert secret not in stack.log(name).read_text(errors="replace"), f"the feed secret is in {name}'s log"
