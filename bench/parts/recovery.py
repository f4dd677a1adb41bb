"""Recovery after a consumer crash (issue 21): the reservation consumer SIGKILLed and restarted at once, as a
supervisor would, then a room deleted at the gateway; measured from the kill until that room's reservations are
cancelled. Once as a static group member (the same instance id comes back, as with a pod's name in Kubernetes)
and once as a dynamic one (`make run`), which waits for the dead member's session timeout."""

from __future__ import annotations

import http.client
import time
from typing import Any

import requests

from bench.dataset import SlotAllocator, create_rooms
from bench.infra import Infra
from bench.loadgen import percentile, run_load
from bench.phases import Plan, _booking, _delete_and_wait
from bench.workload import Workload
from devstack.harness import Stack

CONSUMER = "reservation-consumer"
MODES: dict[str, dict[str, str]] = {"static": {"CONSUMER_GROUP_INSTANCE_ID": "bench-consumer"}, "dynamic": {}}


def recovery(infra: Infra, plan: Plan, work: Workload) -> dict[str, Any]:
    stack = infra.require_stack()
    rooms = create_rooms(infra, work.admin, plan.recovery_kills * len(MODES), "Bench Crash Room")
    slots = SlotAllocator(rooms, first_day=120, minutes=60)
    booked = run_load(stack.gateway, _booking(slots, work.admin), clients=4, max_requests=2 * len(rooms))
    if booked.error_count:
        raise RuntimeError(f"booking the rooms to delete failed: {dict(booked.errors)}")
    host, port = stack.gateway.split("://")[1].split(":")
    gateway = http.client.HTTPConnection(host, int(port), timeout=30)
    listener = infra.connect(infra.db_name("reservation"))
    results: dict[str, Any] = {"kills_per_mode": plan.recovery_kills}
    try:
        with listener.cursor() as cursor:
            cursor.execute("LISTEN outbox")
            for number, (mode, env) in enumerate(MODES.items()):
                _restart(stack, env)
                times: list[float] = []
                failures: list[str] = []
                for room in rooms[number * plan.recovery_kills : (number + 1) * plan.recovery_kills]:
                    _wait_assigned(stack)  # the member to kill is in the group, as a long-running one would be
                    killed = time.perf_counter()
                    stack.kill(CONSUMER)
                    stack.start(CONSUMER, wait=False, extra_env=env)
                    outcome = _delete_and_wait(gateway, work.admin, room, listener, cursor, timeout_s=60, since=killed)
                    if isinstance(outcome, float):
                        times.append(outcome)
                    else:
                        failures.append(outcome)
                results[mode] = {
                    "measured": len(times),
                    "failures": failures,
                    "p50_s": round(percentile(times, 50), 2),
                    "p99_s": round(percentile(times, 99), 2),
                    "max_s": round(max(times, default=0), 2),
                }
    finally:
        listener.close()
        gateway.close()
        _restart(stack, {})
    return results


def _restart(stack: Stack, env: dict[str, str]) -> None:
    stack.stop(CONSUMER)
    stack.start(CONSUMER, extra_env=env)
    _wait_assigned(stack)


def _wait_assigned(stack: Stack, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{stack.health(CONSUMER)}/healthz", timeout=2).json().get("partitions"):
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{CONSUMER} holds no partition after {timeout_s:g} s")
