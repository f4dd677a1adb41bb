"""Recovery after a consumer crash (issue 21): the reservation consumer SIGKILLed and restarted at once, as a
supervisor would, then a room deleted at the gateway; measured from the kill until that room's reservations are
cancelled. Once as a static group member (the same instance id comes back, as with a pod's name in Kubernetes)
and once as a dynamic one (`make run`), which waits for the dead member's session timeout."""

from __future__ import annotations

import time
from typing import Any

import requests

from bench.loadgen import percentile
from bench.measure import Bench
from bench.parts.events import booked_rooms, delete_and_wait, gateway_connection
from bench.table import fmt, table
from devstack.harness import Stack

CONSUMER = "reservation-consumer"
MODES: dict[str, dict[str, str]] = {"static": {"CONSUMER_GROUP_INSTANCE_ID": "bench-consumer"}, "dynamic": {}}


def run(b: Bench) -> dict[str, Any]:
    kills = b.plan.recovery_kills
    rooms = booked_rooms(b.infra, b.work.admin, kills * len(MODES), "Bench Crash Room", first_day=120)
    stack = b.infra.require_stack()
    gateway = gateway_connection(b.infra)
    listener = b.infra.connect(b.infra.db_name("reservation"))
    results: dict[str, Any] = {"kills_per_mode": kills}
    try:
        with listener.cursor() as cursor:
            cursor.execute("LISTEN outbox")
            for number, (mode, env) in enumerate(MODES.items()):
                _restart(stack, env)
                times: list[float] = []
                failures: list[str] = []
                for room in rooms[number * kills : (number + 1) * kills]:
                    _wait_assigned(stack)  # the member to kill is in the group, as a long-running one would be
                    killed = time.perf_counter()
                    stack.kill(CONSUMER)
                    stack.start(CONSUMER, wait=False, extra_env=env)
                    outcome = delete_and_wait(gateway, b.work.admin, room, listener, cursor, timeout_s=60, since=killed)
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


def render(r: dict[str, Any], _: dict[str, Any]) -> list[str]:
    rows = [
        (
            f"{mode} member: killed -> its room's reservations cancelled",
            f"{r[mode]['measured']} of {r['kills_per_mode']}",
            fmt(r[mode]["p50_s"]),
            fmt(r[mode]["p99_s"]),
            fmt(r[mode]["max_s"]),
        )
        for mode in MODES
        if mode in r
    ]
    title = "Recovery after a consumer crash (SIGKILL, restarted at once, then a room deleted; from the kill)"
    return table(title, ("", "kills", "p50 s", "p99 s", "max s"), rows)
