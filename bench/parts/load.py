"""Throughput at 1, 16 and 64 clients through the gateway: creation next to the same-work ceiling, and reads."""

from __future__ import annotations

from typing import Any

from bench import ceiling
from bench.dataset import SlotAllocator
from bench.loadgen import Request
from bench.measure import Bench, measured
from bench.table import LOAD_HEADER, Row, by_cpu, by_throughput, load_row, table

READS = {
    "list": "GET /reservations (own, 50 of 100)",
    "availability": "GET /availability (a room's day)",
    "search": "GET /availability/rooms (1 h, filters)",
    "rooms": "GET /rooms (a page of 50)",
    "feed": "GET /calendar/feeds/<secret>.ics (at the service, see below)",
}


def same_work_app(b: Bench, slots: SlotAllocator) -> ceiling.CeilingApp:
    """bench.same_work_app on the reservation service's own database, its bookings on slots of its own."""
    env = {
        "BENCH_SAME_WORK_DATABASE_URL": b.infra.server_url(b.infra.db_name("reservation")),
        "BENCH_USER_ID": str(b.work.users[0].user_id),
    }
    room, start, end = slots.next()
    probe = {"room_id": room, "start_time": start, "end_time": end, "purpose": "Probe"}
    return ceiling.CeilingApp(b.infra, "same-work", "bench.same_work_app:app", env, probe)


def run_creation(b: Bench) -> dict[str, Any]:
    """POST /reservations and the same-work ceiling, level by level on the same table (the ceiling first)."""
    slots = SlotAllocator(list(b.work.rooms), first_day=200)

    def same_work(client: int) -> Request:
        room, start, end = slots.next()
        body = {"room_id": room, "start_time": start, "end_time": end, "purpose": "Benchmark"}
        user = b.work.users[client % len(b.work.users)]
        return Request.json("POST", "/reservations", body, user.headers, expect=(201,), label="same-work")

    out: dict[str, Any] = {"same_work": {}, "create": {}}
    plan = b.plan
    with same_work_app(b, slots) as app:
        for clients in plan.levels:
            level = str(clients)
            out["same_work"][level] = measured(
                b.infra, same_work, clients, plan.creation_s, plan.warmup_s, gateway=app.gateway, groups=app.groups
            )
            out["create"][level] = measured(b.infra, b.work.create, clients, plan.creation_s, plan.warmup_s)
    return out


def run_reads(b: Bench) -> dict[str, Any]:
    infra, plan, work = b.infra, b.plan, b.work
    stack = infra.require_stack()
    # The gateway allows one feed URL 30 requests a minute (calendar apps poll every few minutes), so the
    # feed is measured at the reservation service itself: what a poll costs, not what the limit lets through.
    factories = {
        "list": work.list_own,
        "availability": work.availability_factory(),
        "search": work.search_factory(),
        "rooms": work.rooms_page,
        "feed": work.feed_factory(stack.gateway),
    }
    out: dict[str, Any] = {kind: {} for kind in factories}
    for clients in plan.levels:
        for kind, factory in factories.items():
            groups = infra.cpu_groups("room-web" if kind == "rooms" else "reservation-web")
            gateway = stack.web("reservation") if kind == "feed" else None
            out[kind][str(clients)] = measured(
                infra, factory, clients, plan.read_s, plan.warmup_s, gateway=gateway, groups=groups
            )
    return out


def _ratios(s: dict[str, Any], ceiling_run: dict[str, Any]) -> tuple[str, str]:
    return fmt_ratio(by_throughput(s, ceiling_run)), fmt_ratio(by_cpu(s, ceiling_run))


def fmt_ratio(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def render_creation(c: dict[str, Any], parts: dict[str, Any]) -> list[str]:
    minimal = parts.get("ceilings", {}).get("minimal_flask", {})
    rows: list[Row] = []
    for level, s in c["create"].items():
        same = c["same_work"].get(level, {})
        rows.append(
            load_row(f"same-work ceiling, {level} clients", same, "-", "-", *_ratios(same, minimal.get(level, {})))
        )
        rows.append(
            load_row(f"POST /reservations, {level} clients", s, *_ratios(s, same), *_ratios(s, minimal.get(level, {})))
        )
    header = (*LOAD_HEADER, "of same-work", "by CPU", "of minimal", "by CPU")
    out = table(
        "Reservation creation through the gateway (valid JWT, distinct slots), next to the same-work ceiling",
        header,
        rows,
    )
    out.append(
        '"of ...": throughput ratio; "by CPU": the ceiling\'s CPU per request (app + NGINX + PostgreSQL) over'
        " this one's, the throughput ratio a dedicated machine would give when CPU-bound"
    )
    return out


def render_reads(r: dict[str, Any], parts: dict[str, Any]) -> list[str]:
    minimal = parts.get("ceilings", {}).get("minimal_flask", {})
    rows = [
        load_row(f"{name}, {level} clients", s, fmt_ratio(by_cpu(s, minimal.get(level, {}))))
        for kind, name in READS.items()
        for level, s in r.get(kind, {}).items()
    ]
    out = table(
        "Reads through the gateway (app cpu: room-web for GET /rooms)", (*LOAD_HEADER, "of minimal by CPU"), rows
    )
    out.append(
        "the calendar feed is polled at the reservation service itself: the gateway lets one feed URL through"
        " 30 times a minute (calendar apps poll every few minutes), so what is measured is what a poll costs"
    )
    return out
