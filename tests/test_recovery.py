"""The event pipeline recovers in seconds (issue 21): consumers killed or stopped, the active relay killed or hung."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from devstack.harness import Stack, running_stack, system_stack_config
from servicekit.settings import sqlalchemy_url
from tests.test_event_faults import eventually, new_rooms, replicated
from tests.test_slice import book_when_known, create_room, slot

# Static members for the handover test, with a session timeout far beyond its deadline: only leaving the group
# on SIGTERM can move the partitions in time.
LONG_SESSION = {"CONSUMER_SESSION_TIMEOUT_MS": "60000"}


@pytest.fixture(scope="module")
def recovery_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("recovery-stack")
    with running_stack(system_stack_config(log_dir), log_dir) as stack:
        yield stack


@pytest.fixture(scope="module")
def admin(recovery_stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {recovery_stack.token('admin@example.com', 'admin')}"}


def rows(stack: Stack, service: str, sql: str, **params: Any) -> list[Any]:
    engine = sa.create_engine(sqlalchemy_url(stack.config.database_url(service)))
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(sql), params))
    finally:
        engine.dispose()


def health(stack: Stack, name: str) -> dict[str, Any]:
    try:
        return requests.get(f"{stack.health(name)}/healthz", timeout=2).json()  # type: ignore[no-any-return]
    except requests.RequestException:
        return {}


def partitions(stack: Stack, name: str) -> list[str]:
    return list(health(stack, name).get("partitions") or [])


def log_records(stack: Stack, name: str, message: str) -> list[dict[str, Any]]:
    found = []
    for line in stack.log(name).read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("message") == message:
            found.append(record)
    return found


def test_consumer_killed_twice_during_deletions_cancels_every_booking_once(
    recovery_stack: Stack, admin: dict[str, str]
) -> None:
    stack = recovery_stack
    rooms = new_rooms(stack, admin, "Doomed", 100)
    eventually(lambda: replicated(stack, "Doomed") == 100, "the rooms reached the reservation service")

    def book_twice(room: int) -> list[int]:
        booked = [book_when_known(stack, admin, room, *slot(20, hour)) for hour in (9, 11)]
        assert all(response.status_code == 201 for response in booked), [r.text for r in booked]
        return [response.json()["id"] for response in booked]

    with ThreadPoolExecutor(4) as pool:
        bookings = [rid for pair in pool.map(book_twice, rooms) for rid in pair]
    assert len(bookings) == 200

    for number, room in enumerate(rooms):
        if number in (34, 67):
            # the second time only once the restarted consumer is a member of the group again
            eventually(lambda: bool(partitions(stack, "reservation-consumer")), "the consumer rejoined", 60)
            stack.kill("reservation-consumer")
            stack.start("reservation-consumer")
        response = requests.delete(f"{stack.gateway}/rooms/{room}", headers=admin, timeout=10)
        assert response.status_code == 204, response.text

    pending = "SELECT count(*) FROM reservations WHERE id = ANY(:ids) AND status <> 'cancelled'"
    eventually(
        lambda: rows(stack, "reservation", pending, ids=bookings)[0][0] == 0,
        "every booking of the deleted rooms cancelled",
        timeout_s=20,
    )
    cancellations = rows(
        stack,
        "reservation",
        "SELECT key, count(*) FROM outbox WHERE event_type = 'reservation_cancelled' AND key = ANY(:keys) GROUP BY key",
        keys=[str(b) for b in bookings],
    )
    assert sorted(int(key) for key, _ in cancellations) == sorted(bookings)
    assert {count for _, count in cancellations} == {1}  # cancelled exactly once, though events were redelivered
    reasons = rows(
        stack, "reservation", "SELECT DISTINCT cancel_reason FROM reservations WHERE id = ANY(:ids)", ids=bookings
    )
    assert reasons == [("room deleted",)]


def test_sigterm_hands_the_partitions_over_without_a_session_timeout(
    recovery_stack: Stack, admin: dict[str, str]
) -> None:
    stack = recovery_stack
    stack.stop("reservation-consumer")
    stack.start("reservation-consumer", extra_env={"CONSUMER_GROUP_INSTANCE_ID": "recovery-1", **LONG_SESSION})
    stack.start("reservation-consumer-2", extra_env={"CONSUMER_GROUP_INSTANCE_ID": "recovery-2", **LONG_SESSION})
    try:
        eventually(
            lambda: bool(partitions(stack, "reservation-consumer") and partitions(stack, "reservation-consumer-2")),
            "both consumers hold partitions",
            timeout_s=60,
        )
        everything = sorted(partitions(stack, "reservation-consumer") + partitions(stack, "reservation-consumer-2"))
        assert stack.stop("reservation-consumer") == 0
        # A static member that just vanished would keep its partitions for the 60 s session timeout.
        eventually(
            lambda: sorted(partitions(stack, "reservation-consumer-2")) == everything,
            "the survivor holds every partition",
            timeout_s=30,
        )
        left = log_records(stack, "reservation-consumer", "left the consumer group")
        assert left and left[-1]["outcome"] == {"recovery-1": "NoError"}
        assigned = log_records(stack, "reservation-consumer-2", "partitions assigned")[-1]
        assert assigned["assigned"] == len(everything) and assigned["unassigned_since"] == "revocation"
        metrics = requests.get(f"{stack.health('reservation-consumer-2')}/metrics", timeout=5).text
        assert f"consumer_assigned_partitions {float(len(everything))}" in metrics
        room = create_room(stack, admin, "After handover")["id"]
        eventually(lambda: replicated(stack, "After handover") == 1, f"room {room} applied by the survivor", 30)
    finally:
        stack.stop("reservation-consumer-2")
        stack.stop("reservation-consumer")
        stack.start("reservation-consumer")


def test_healthz_fails_while_the_consumer_loop_is_stuck(recovery_stack: Stack, admin: dict[str, str]) -> None:
    """A loop that stopped polling fails /healthz (so the liveness probe restarts it), and recovers with it."""
    stack = recovery_stack
    room = create_room(stack, admin, "Stuck consumer")["id"]
    eventually(lambda: replicated(stack, "Stuck consumer") == 1, "the room replicated")
    stack.stop("reservation-consumer")
    stuck = {"CONSUMER_MAX_POLL_INTERVAL_MS": "3000", "DB_STATEMENT_TIMEOUT_MS": "120000"}
    stack.start("reservation-consumer", extra_env=stuck)
    engine = sa.create_engine(sqlalchemy_url(stack.config.database_url("reservation")))
    try:
        eventually(lambda: bool(partitions(stack, "reservation-consumer")), "the consumer joined", 30)
        with engine.connect() as holder:
            holder.execute(sa.text("SELECT id FROM rooms WHERE id = :id FOR UPDATE"), {"id": room})
            response = requests.patch(f"{stack.gateway}/rooms/{room}", json={"capacity": 9}, headers=admin, timeout=10)
            assert response.status_code == 200, response.text
            # the consumer now waits on our row lock, inside its batch
            eventually(lambda: health(stack, "reservation-consumer").get("status") == "stalled", "/healthz failed", 30)
            assert requests.get(f"{stack.health('reservation-consumer')}/healthz", timeout=2).status_code == 503
            holder.rollback()
        eventually(lambda: health(stack, "reservation-consumer").get("status") == "ok", "/healthz recovered", 30)
        capacity = "SELECT capacity FROM rooms WHERE id = :id"
        eventually(lambda: rows(stack, "reservation", capacity, id=room) == [(9,)], "the update applied", 30)
    finally:
        engine.dispose()
        stack.stop("reservation-consumer")
        stack.start("reservation-consumer")


def relay_active(stack: Stack, name: str) -> bool | None:
    return health(stack, name).get("active")


def test_standby_relay_publishes_within_15_s_of_the_active_one_being_killed(
    recovery_stack: Stack, admin: dict[str, str]
) -> None:
    stack = recovery_stack
    stack.start("room-relay-2")
    eventually(lambda: relay_active(stack, "room-relay-2") is False, "the second relay stands by", 30)
    assert relay_active(stack, "room-relay") is True
    stack.kill("room-relay")
    create_room(stack, admin, "Killed active relay")
    eventually(lambda: replicated(stack, "Killed active relay") == 1, "the standby published", timeout_s=15)
    stack.start("room-relay")  # now the standby


def test_standby_relay_takes_over_from_a_hung_one(recovery_stack: Stack, admin: dict[str, str]) -> None:
    """A hung holder's kernel still answers for its socket: PostgreSQL ends the idle lock session by itself."""
    stack = recovery_stack
    if "room-relay-2" not in stack.processes or stack.processes["room-relay-2"].poll() is not None:
        pytest.skip("needs the relays as the previous test left them")
    eventually(lambda: relay_active(stack, "room-relay-2") is True, "the second relay is active", 30)
    hung = stack.processes["room-relay-2"]
    os.kill(hung.pid, signal.SIGSTOP)
    try:
        create_room(stack, admin, "Hung active relay")
        eventually(lambda: replicated(stack, "Hung active relay") == 1, "the standby published", timeout_s=30)
    finally:
        os.kill(hung.pid, signal.SIGCONT)
    eventually(lambda: relay_active(stack, "room-relay-2") is False, "the resumed relay stands by", 30)
    assert stack.stop("room-relay-2") == 0
