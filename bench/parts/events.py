"""Races and events: everyone books one slot (contention), a room deleted at the gateway until its reservations
are cancelled (propagation), and the reservation relay draining a backlog (relay)."""

from __future__ import annotations

import http.client
import select
import time
from collections import Counter
from typing import Any

from bench.dataset import SlotAllocator, create_rooms
from bench.infra import Infra, User
from bench.loadgen import Racer, Request, RequestFactory, Response, percentile, run_load
from bench.measure import Bench
from bench.table import fmt, table

PENDING_SQL = "SELECT count(*) FROM reservations WHERE room_id = %s AND status = 'confirmed' AND end_time > now()"


def run_contention(b: Bench) -> dict[str, Any]:
    """Rounds of `contention_clients` simultaneous bookings of one slot: exactly one may win each round."""
    racer = Racer(b.infra.require_stack().gateway)
    slots = SlotAllocator(list(b.work.rooms), first_day=350, minutes=60)
    winners: list[int] = []
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    chosen = []
    for _ in range(b.plan.contention_rounds):
        room, start, end = slots.next()
        chosen.append((room, start))
        body = {"room_id": room, "start_time": start, "end_time": end, "purpose": "Race"}
        users = b.work.users
        requests = [
            Request.json("POST", "/reservations", body, users[i % len(users)].headers, expect=(201, 409))
            for i in range(b.plan.contention_clients)
        ]
        answers = racer.race(requests)
        winners.append(sum(1 for a in answers if isinstance(a, Response) and a.status == 201))
        for answer in answers:
            if isinstance(answer, Response):
                statuses[str(answer.status)] += 1
                latencies.append(answer.latency_s)
            else:
                statuses[f"transport: {type(answer).__name__}"] += 1
    return {
        "rounds": b.plan.contention_rounds,
        "clients": b.plan.contention_clients,
        "winners_per_round": dict(Counter(winners)),
        "rounds_with_exactly_one_winner": sum(1 for w in winners if w == 1),
        "confirmed_rows_per_slot_in_db": dict(Counter(_confirmed_per_slot(b.infra, chosen))),
        "statuses": dict(statuses),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
    }


def _confirmed_per_slot(infra: Infra, chosen: list[tuple[int, str]]) -> list[int]:
    sql = "SELECT count(*) FROM reservations WHERE room_id = %s AND start_time = %s AND status = 'confirmed'"
    with infra.cursor(infra.db_name("reservation")) as cursor:
        counts = []
        for room, start in chosen:
            cursor.execute(sql, (room, start))
            counts.append(int(_one(cursor)[0]))
    return counts


def booked_rooms(infra: Infra, admin: User, count: int, prefix: str, first_day: int) -> list[int]:
    """`count` new rooms (through the event path), two reservations each (through the gateway)."""
    rooms = create_rooms(infra, admin, count, prefix)
    slots = SlotAllocator(rooms, first_day=first_day, minutes=60)
    booked = run_load(infra.require_stack().gateway, _booking(slots, admin), clients=4, max_requests=2 * len(rooms))
    if booked.error_count:
        raise RuntimeError(f"booking the rooms to delete failed: {dict(booked.errors)}")
    return rooms


def run_propagation(b: Bench) -> dict[str, Any]:
    """Room deletion at the gateway → every reservation of that room cancelled by the reservation service."""
    rooms = booked_rooms(b.infra, b.work.admin, b.plan.deletions, "Bench Doomed Room", first_day=90)
    gateway = gateway_connection(b.infra)
    listener = b.infra.connect(b.infra.db_name("reservation"))
    latencies: list[float] = []
    failures: list[str] = []
    try:
        with listener.cursor() as cursor:
            cursor.execute("LISTEN outbox")  # the reservation service's outbox trigger: fires at each commit
            for room in rooms:
                outcome = delete_and_wait(gateway, b.work.admin, room, listener, cursor)
                if isinstance(outcome, float):
                    latencies.append(outcome)
                else:
                    failures.append(outcome)
    finally:
        listener.close()
        gateway.close()
    return {
        "deletions": len(rooms),
        "reservations_per_room": 2,
        "measured": len(latencies),
        "failures": failures[:10],
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies, default=0) * 1000, 1),
    }


def gateway_connection(infra: Infra) -> http.client.HTTPConnection:
    host, port = infra.require_stack().gateway.split("://")[1].split(":")
    return http.client.HTTPConnection(host, int(port), timeout=30)


def _booking(slots: SlotAllocator, admin: User) -> RequestFactory:
    def book(_: int) -> Request:
        room, start, end = slots.next()
        body = {"room_id": room, "start_time": start, "end_time": end, "purpose": "To be cancelled"}
        return Request.json("POST", "/reservations", body, admin.headers, expect=(201,))

    return book


def delete_and_wait(
    gateway: http.client.HTTPConnection,
    admin: User,
    room: int,
    listener: Any,
    cursor: Any,
    timeout_s: float = 30,
    since: float | None = None,
) -> float | str:
    """Seconds from the DELETE (or from `since`, a perf_counter reading) until the room has no confirmed
    reservation left; a description of what went wrong otherwise."""
    cursor.execute(PENDING_SQL, (room,))
    if cursor.fetchone()[0] == 0:
        return f"room {room}: nothing to cancel before the deletion"
    listener.poll()
    listener.notifies.clear()
    started = time.perf_counter()
    gateway.request("DELETE", f"/rooms/{room}", headers=admin.headers)
    response = gateway.getresponse()
    response.read()
    if response.status != 204:
        return f"room {room}: DELETE answered {response.status}"
    while time.perf_counter() - started < timeout_s:
        cursor.execute(PENDING_SQL, (room,))
        if cursor.fetchone()[0] == 0:
            return time.perf_counter() - (started if since is None else since)
        select.select([listener], [], [], 0.05)
        listener.poll()
        listener.notifies.clear()
    return f"room {room}: reservations not cancelled within {timeout_s:g} s"


def _one(cursor: Any) -> tuple[Any, ...]:
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the query returned no row")
    return tuple(row)


CLONE_EVENTS_SQL = """
WITH source AS (
    SELECT topic, key, event_type, payload FROM outbox
    WHERE event_type = 'reservation_created' ORDER BY id DESC LIMIT 1000
), copies AS (
    SELECT gen_random_uuid() AS event_id, s.* FROM source s, generate_series(1, %s) AS n LIMIT %s
)
INSERT INTO outbox (event_id, topic, key, event_type, payload)
SELECT event_id, topic, key, event_type, jsonb_set(payload, '{event_id}', to_jsonb(event_id::text)) FROM copies
"""
SENT_SPAN_SQL = (
    "SELECT extract(epoch FROM max(sent_at) - min(sent_at)), count(*) FILTER (WHERE sent_at = min_sent)"
    " FROM (SELECT sent_at, min(sent_at) OVER () AS min_sent FROM outbox WHERE id >= %s) AS sent"
)


def run_relay(b: Bench) -> dict[str, Any]:
    """A backlog of real reservation events (cloned with new ids) while the relay is stopped, then drained."""
    infra, stack = b.infra, b.infra.require_stack()
    stack.stop("reservation-relay")
    with infra.cursor(infra.db_name("reservation")) as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM outbox")
        first_id = int(_one(cursor)[0]) + 1
        cursor.execute(CLONE_EVENTS_SQL, (b.plan.relay_events // 1000 + 1, b.plan.relay_events))
        events = cursor.rowcount
    started = time.perf_counter()
    stack.start("reservation-relay")
    infra.wait_for(
        lambda: infra.scalar("reservation", "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0,
        "the relay drained its backlog",
        timeout_s=600,
    )
    wall = time.perf_counter() - started
    with infra.cursor(infra.db_name("reservation")) as cursor:
        cursor.execute(SENT_SPAN_SQL, (first_id,))
        span, first_batch = _one(cursor)
    span = float(span or 0)
    return {
        "events": events,
        "events_per_s": round((events - first_batch) / span) if span > 0 else None,
        "first_to_last_publish_s": round(span, 2),
        "drain_s_including_relay_start": round(wall, 2),
    }


def render_contention(c: dict[str, Any], _: dict[str, Any]) -> list[str]:
    row = (
        f"{c['clients']} clients x {c['rounds']} rounds",
        str(c["rounds_with_exactly_one_winner"]),
        str(c["winners_per_round"]),
        str(c["confirmed_rows_per_slot_in_db"]),
        str(c["statuses"]),
        f"{c['p50_ms']:.0f} / {c['p99_ms']:.0f}",
    )
    header = ("", "rounds with 1 winner", "winners: rounds", "DB rows: slots", "statuses", "p50 / p99 ms")
    return table("Contention: everyone books the same slot", header, [row])


def render_propagation(p: dict[str, Any], _: dict[str, Any]) -> list[str]:
    row = (
        "room deleted at gateway -> its reservations cancelled",
        f"{p['measured']} of {p['deletions']}",
        fmt(p["p50_ms"]),
        fmt(p["p99_ms"]),
        fmt(p["max_ms"]),
    )
    title = "Event propagation (sequential deletions, 2 reservations each)"
    out = table(title, ("", "deletions", "p50 ms", "p99 ms", "max ms"), [row])
    return out


def render_relay(relay: dict[str, Any], _: dict[str, Any]) -> list[str]:
    return [
        f"relay throughput: {relay['events']:,} reservation events, {fmt(relay['events_per_s'])} events/s"
        f" (first to last publish {relay['first_to_last_publish_s']} s; {relay['drain_s_including_relay_start']} s"
        " including the relay's start)"
    ]
