"""The benchmark's parts, each returning plain data for the report and bench/results.json."""

from __future__ import annotations

import http.client
import json
import select
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import ceiling, explain, procs
from bench.cpu import CpuMeter
from bench.cpu import processes as cpu_processes
from bench.dataset import BulkLoader, SlotAllocator, create_rooms, search_windows
from bench.infra import Infra, User
from bench.loadgen import LoadResult, Racer, Request, Response, percentile, run_load
from bench.workload import SEARCH_FILTERS, Workload
from devstack.stack import PYTHON, ROOT, child_env


@dataclass(frozen=True)
class Plan:
    """How long and how big each part is: the full benchmark, or `--quick` for trying it out."""

    quick: bool
    rooms: int
    levels: tuple[int, ...]
    warmup_s: float
    ceiling_s: float
    creation_s: float
    read_s: float
    growth_sizes: tuple[int, ...]
    growth_requests: int
    admin_list_requests: int
    contention_rounds: int
    contention_clients: int
    deletions: int
    relay_events: int
    recovery_kills: int
    soak_s: float
    soak_clients: int
    profile_requests: int

    @classmethod
    def make(cls, quick: bool, soak_s: float | None) -> Plan:
        common = {"levels": (1, 16, 64), "contention_clients": 64, "soak_clients": 16}
        if quick:
            return cls(
                quick=True,
                rooms=300,
                warmup_s=0.5,
                ceiling_s=3,
                creation_s=3,
                read_s=2,
                growth_sizes=(10_000, 30_000, 100_000),
                growth_requests=60,
                admin_list_requests=10,
                contention_rounds=10,
                deletions=30,
                relay_events=3_000,
                recovery_kills=2,
                profile_requests=100,
                soak_s=soak_s if soak_s is not None else 30,
                **common,  # type: ignore[arg-type]
            )
        return cls(
            quick=False,
            rooms=1000,
            warmup_s=2,
            ceiling_s=15,
            creation_s=15,
            read_s=8,
            growth_sizes=(10_000, 100_000, 1_000_000),
            growth_requests=300,
            admin_list_requests=30,
            contention_rounds=100,
            deletions=200,
            relay_events=20_000,
            recovery_kills=5,
            profile_requests=500,
            soak_s=soak_s if soak_s is not None else 300,
            **common,  # type: ignore[arg-type]
        )


def _load(infra: Infra, factory: Any, clients: int, seconds: float, warmup_s: float) -> LoadResult:
    return run_load(infra.require_stack().gateway, factory, clients=clients, seconds=seconds, warmup_s=warmup_s)


def _measured(
    infra: Infra,
    factory: Any,
    clients: int,
    seconds: float,
    warmup_s: float,
    *,
    gateway: str | None = None,
    groups: dict[str, list[int]] | None = None,
) -> dict[str, Any]:
    """A closed-loop run with its CPU use per request by process group (warm-up included on both sides)."""
    meter = CpuMeter(groups if groups is not None else infra.cpu_groups())
    with meter.measure():
        result = run_load(
            gateway or infra.require_stack().gateway, factory, clients=clients, seconds=seconds, warmup_s=warmup_s
        )
    return {**result.summary(), **meter.summary(result.all_requests)}


def _count(infra: Infra, factory: Any, requests: int) -> LoadResult:
    """`requests` sequential requests from one client (latency, not throughput), after a few to warm up."""
    gateway = infra.require_stack().gateway
    run_load(gateway, factory, clients=1, max_requests=min(30, requests))
    return run_load(gateway, factory, clients=1, max_requests=requests)


# --- ceilings ------------------------------------------------------------------------------------


def ceilings(infra: Infra, plan: Plan, work: Workload) -> dict[str, Any]:
    ceiling.prepare_database(infra)
    out: dict[str, Any] = {"pgbench": {}, "minimal_flask": {}}
    for clients in plan.levels:
        out["pgbench"][str(clients)] = ceiling.pgbench(infra, clients, plan.ceiling_s, infra.base / "pgbench")
    app = ceiling.MinimalApp(infra)
    app.start()
    try:
        body = {
            "room_id": work.rooms[0],
            "start_time": "2030-01-01T10:00:00+00:00",
            "end_time": "2030-01-01T11:00:00+00:00",
            "purpose": "Benchmark",
        }

        def post(client: int) -> Request:
            user = work.users[client % len(work.users)]
            return Request.json("POST", "/reservations", body, user.headers, expect=(201,), label="ceiling")

        groups = {**infra.cpu_groups(), "service": [app.web_pid], "gateway": [app.gateway_pid]}
        for clients in plan.levels:
            out["minimal_flask"][str(clients)] = _measured(
                infra, post, clients, plan.ceiling_s, plan.warmup_s, gateway=app.gateway, groups=groups
            )
        out["client_check"] = _client_check(infra, app, json.dumps(body), plan)
        out["minimal_flask_worker_peak_mb"] = max(
            (s.peak / 1e6 for s in procs.sample({"ceiling-web": app.web_pid})), default=0.0
        )
    finally:
        app.stop()
    return out


def _client_check(infra: Infra, app: ceiling.MinimalApp, body: str, plan: Plan) -> dict[str, Any]:
    """The Python client against wrk at 16 clients: on the minimal app (alternating, so both see the same
    machine), and on NGINX alone (/healthz), which shows how far the Python client can go at all."""
    binary, how = ceiling.ensure_wrk()
    seconds = max(2.0, plan.ceiling_s / 3)
    check: dict[str, Any] = {"wrk": how}

    def post(_: int) -> Request:
        return Request("POST", "/reservations", {"Content-Type": "application/json"}, body.encode(), expect=(201,))

    python_rps, wrk_rps = [], []
    for _ in range(2):
        python_rps.append(run_load(app.gateway, post, clients=16, seconds=seconds, warmup_s=0.5).throughput)
        if binary:
            wrk_rps.append(
                ceiling.wrk(binary, f"{app.gateway}/reservations", 16, seconds, infra.base, body=body)["throughput_rps"]
            )
    python_nginx = ceiling.healthz_load(app.gateway, 16, seconds)
    check["python_minimal_app_16_rps"] = round(sum(python_rps) / len(python_rps), 1)
    check["python_nginx_healthz_16"] = python_nginx.summary()
    if binary:
        check["wrk_minimal_app_16_rps"] = round(sum(wrk_rps) / len(wrk_rps), 1)
        check["wrk_nginx_healthz_16"] = ceiling.wrk(binary, f"{app.gateway}/healthz", 16, seconds, infra.base)
        if sum(wrk_rps):
            check["python_vs_wrk_minimal_app"] = round(sum(python_rps) / sum(wrk_rps), 3)
    return check


# --- growth ---------------------------------------------------------------------------------------


def growth(infra: Infra, plan: Plan, work: Workload) -> dict[str, Any]:
    """Bulk-load to each size and time creation, the own list, free-room search (and the admin's list, for info)."""
    loader = BulkLoader(infra, list(work.rooms), work.reader.user_id)
    stages: dict[str, Any] = {}
    for size in plan.growth_sizes:
        load = loader.grow_to(size)
        stage: dict[str, Any] = {"load": load}
        stage["create"] = _count(infra, work.create, plan.growth_requests).summary()
        stage["list"] = _count(infra, work.list_own, plan.growth_requests).summary()
        stage["search"] = _count(infra, work.search_factory(), plan.growth_requests).summary()
        stage["list_admin"] = _count(infra, work.list_all, plan.admin_list_requests).summary()
        stages[str(size)] = stage
    smallest, largest = stages[str(plan.growth_sizes[0])], stages[str(plan.growth_sizes[-1])]
    factors = {
        kind: {
            q: round(largest[kind][q] / smallest[kind][q], 2) if smallest[kind][q] else None
            for q in ("p50_ms", "p99_ms")
        }
        for kind in ("create", "list", "search", "list_admin")
    }
    return {
        "rooms": len(work.rooms),
        "stages": stages,
        "growth_factor": factors,
        "explain": _explain_largest(infra, work),
    }


def _explain_largest(infra: Infra, work: Workload) -> dict[str, Any]:
    url = infra.server_url(infra.db_name("reservation"))
    start, end = search_windows()[2]
    return {
        "search": explain.free_rooms(
            url,
            datetime.fromisoformat(start),
            datetime.fromisoformat(end),
            int(SEARCH_FILTERS["min_capacity"]),
            SEARCH_FILTERS["equipment"],
        ),
        "list": explain.own_list(url, work.reader.user_id, "employee"),
        "list_admin": explain.own_list(url, work.admin.user_id, "admin"),
    }


def whatif(infra: Infra, work: Workload) -> dict[str, Any]:
    """EXPLAIN ANALYZE of what would make the slow queries cheaper, on the same data (run last: it adds an index
    for a moment)."""
    url = infra.server_url(infra.db_name("reservation"))
    start, end = (datetime.fromisoformat(t) for t in search_windows()[2])
    parameters = {
        "start": start,
        "end": end,
        "capacity": int(SEARCH_FILTERS["min_capacity"]),
        "equipment": SEARCH_FILTERS["equipment"].split(","),
        "max_hours": 12,
    }
    searches = {
        name: {"sql": " ".join(sql.split()), "plan": explain.explain_sql(url, sql, parameters)}
        for name, sql in (
            ("search_one_statement_gist", explain.ONE_STATEMENT_SEARCH_SQL.format(overlap=explain.GIST_OVERLAP)),
            ("search_one_statement_btree", explain.ONE_STATEMENT_SEARCH_SQL.format(overlap=explain.BTREE_OVERLAP)),
        )
    }
    ddl = "CREATE INDEX bench_whatif_start_id ON reservations (start_time, id)"
    admin = explain.with_index(
        url, ddl, "bench_whatif_start_id", lambda: explain.own_list(url, work.admin.user_id, "admin")
    )
    return {**searches, "list_admin_with_index_start_time_id": {"ddl": ddl, "plans": admin}}


# --- throughput at 1, 16, 64 clients ------------------------------------------------------------


def creation(infra: Infra, plan: Plan, work: Workload) -> dict[str, Any]:
    return {
        str(clients): _measured(infra, work.create, clients, plan.creation_s, plan.warmup_s) for clients in plan.levels
    }


def reads(infra: Infra, plan: Plan, work: Workload) -> dict[str, Any]:
    out: dict[str, Any] = {"list": {}, "availability": {}, "search": {}, "feed": {}}
    stack = infra.require_stack()
    # The gateway allows one feed URL 30 requests a minute (calendar apps poll every few minutes), so the
    # feed is measured at the reservation service itself: what a poll costs, not what the limit lets through.
    feed = work.feed_factory(stack.gateway)
    for clients in plan.levels:
        level = str(clients)
        out["list"][level] = _measured(infra, work.list_own, clients, plan.read_s, plan.warmup_s)
        out["availability"][level] = _measured(infra, work.availability_factory(), clients, plan.read_s, plan.warmup_s)
        out["search"][level] = _measured(infra, work.search_factory(), clients, plan.read_s, plan.warmup_s)
        out["feed"][level] = _measured(
            infra, feed, clients, plan.read_s, plan.warmup_s, gateway=stack.web("reservation")
        )
    return out


# --- contention -------------------------------------------------------------------------------


def contention(infra: Infra, plan: Plan, work: Workload) -> dict[str, Any]:
    """Rounds of `contention_clients` simultaneous bookings of one slot: exactly one may win each round."""
    racer = Racer(infra.require_stack().gateway)
    slots = SlotAllocator(list(work.rooms), first_day=400, minutes=60)
    winners: list[int] = []
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    chosen = []
    for _ in range(plan.contention_rounds):
        room, start, end = slots.next()
        chosen.append((room, start))
        body = {"room_id": room, "start_time": start, "end_time": end, "purpose": "Race"}
        requests = [
            Request.json("POST", "/reservations", body, work.users[i % len(work.users)].headers, expect=(201, 409))
            for i in range(plan.contention_clients)
        ]
        answers = racer.race(requests)
        winners.append(sum(1 for a in answers if isinstance(a, Response) and a.status == 201))
        for answer in answers:
            if isinstance(answer, Response):
                statuses[str(answer.status)] += 1
                latencies.append(answer.latency_s)
            else:
                statuses[f"transport: {type(answer).__name__}"] += 1
    confirmed = _confirmed_per_slot(infra, chosen)
    return {
        "rounds": plan.contention_rounds,
        "clients": plan.contention_clients,
        "winners_per_round": dict(Counter(winners)),
        "rounds_with_exactly_one_winner": sum(1 for w in winners if w == 1),
        "confirmed_rows_per_slot_in_db": dict(Counter(confirmed)),
        "statuses": dict(statuses),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
    }


def _confirmed_per_slot(infra: Infra, chosen: list[tuple[int, str]]) -> list[int]:
    with infra.cursor(infra.db_name("reservation")) as cursor:
        counts = []
        for room, start in chosen:
            cursor.execute(
                "SELECT count(*) FROM reservations WHERE room_id = %s AND start_time = %s AND status = 'confirmed'",
                (room, start),
            )
            row = cursor.fetchone()
            counts.append(int(row[0]) if row else 0)
    return counts


# --- events ---------------------------------------------------------------------------------------


def propagation(infra: Infra, plan: Plan, work: Workload) -> dict[str, Any]:
    """Room deletion at the gateway → every reservation of that room cancelled by the reservation service."""
    rooms = create_rooms(infra, work.admin, plan.deletions, "Bench Doomed Room")
    slots = SlotAllocator(rooms, first_day=90, minutes=60)
    booked = run_load(
        infra.require_stack().gateway, _booking(slots, work.admin), clients=8, max_requests=2 * len(rooms)
    )
    if booked.error_count:
        raise RuntimeError(f"booking the rooms to delete failed: {dict(booked.errors)}")
    stack = infra.require_stack()
    host, port = stack.gateway.split("://")[1].split(":")
    gateway = http.client.HTTPConnection(host, int(port), timeout=30)
    listener = infra.connect(infra.db_name("reservation"))
    latencies: list[float] = []
    failures: list[str] = []
    try:
        with listener.cursor() as cursor:
            cursor.execute("LISTEN outbox")  # the reservation service's outbox trigger: fires at each commit
            for room in rooms:
                outcome = _delete_and_wait(gateway, work.admin, room, listener, cursor)
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


def _booking(slots: SlotAllocator, admin: User) -> Any:
    def book(_: int) -> Request:
        room, start, end = slots.next()
        body = {"room_id": room, "start_time": start, "end_time": end, "purpose": "To be cancelled"}
        return Request.json("POST", "/reservations", body, admin.headers, expect=(201,))

    return book


def _delete_and_wait(
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
    pending_sql = "SELECT count(*) FROM reservations WHERE room_id = %s AND status = 'confirmed' AND end_time > now()"
    cursor.execute(pending_sql, (room,))
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
        cursor.execute(pending_sql, (room,))
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


def relay_throughput(infra: Infra, plan: Plan) -> dict[str, Any]:
    """A backlog of real reservation events (cloned with new ids) while the relay is stopped, then drained."""
    stack = infra.require_stack()
    stack.stop("reservation-relay")
    connection = infra.connect(infra.db_name("reservation"))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM outbox")
            first_id = int(_one(cursor)[0]) + 1
            cursor.execute(
                """
                WITH source AS (
                    SELECT topic, key, event_type, payload FROM outbox
                    WHERE event_type = 'reservation_created' ORDER BY id DESC LIMIT 1000
                ), copies AS (
                    SELECT gen_random_uuid() AS event_id, s.* FROM source s, generate_series(1, %s) AS n
                    LIMIT %s
                )
                INSERT INTO outbox (event_id, topic, key, event_type, payload)
                SELECT event_id, topic, key, event_type, jsonb_set(payload, '{event_id}', to_jsonb(event_id::text))
                FROM copies
                """,
                (plan.relay_events // 1000 + 1, plan.relay_events),
            )
            events = cursor.rowcount
        started = time.perf_counter()
        stack.start("reservation-relay")
        infra.wait_for(
            lambda: infra.scalar("reservation", "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0,
            "the relay drained its backlog",
            timeout_s=600,
        )
        wall = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT extract(epoch FROM max(sent_at) - min(sent_at)), count(*) FILTER (WHERE sent_at = min_sent)"
                " FROM (SELECT sent_at, min(sent_at) OVER () AS min_sent FROM outbox WHERE id >= %s) AS sent",
                (first_id,),
            )
            span, first_batch = _one(cursor)
    finally:
        connection.close()
    span = float(span or 0)
    return {
        "events": events,
        "events_per_s": round((events - first_batch) / span) if span > 0 else None,
        "first_to_last_publish_s": round(span, 2),
        "drain_s_including_relay_start": round(wall, 2),
    }


# --- profile ---------------------------------------------------------------------------------------


def profile(infra: Infra, plan: Plan, work: Workload) -> dict[str, Any]:
    """cProfile of the reservation app and of the minimal app, in process (see bench/profile.py)."""
    stack = infra.require_stack()
    if not infra.scalar("user", "SELECT 1 FROM pg_database WHERE datname = %s", (ceiling.CEILING_DB,)):
        ceiling.prepare_database(infra)
    out: dict[str, Any] = {}
    for target, env in (
        (
            "reservation",
            {
                **stack.config.service_env("reservation", "web"),
                "BENCH_TOKEN": work.users[0].token,
                "BENCH_ROOMS": ",".join(str(room) for room in work.rooms[:100]),
            },
        ),
        ("minimal", {"BENCH_CEILING_DATABASE_URL": infra.server_url(ceiling.CEILING_DB)}),
    ):
        result_file = infra.base / f"profile-{target}.json"
        log = (infra.log_dir / f"profile-{target}.log").open("wb")
        subprocess.run(
            [PYTHON, "-m", "bench.profile", target, str(plan.profile_requests)],
            env=child_env({**env, "BENCH_PROFILE_OUT": str(result_file)}),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=600,
        )
        out[target] = json.loads(result_file.read_text())
    return out


def worker_boot(infra: Infra) -> dict[str, Any]:
    """CPU a gunicorn worker spends starting (imports, app creation) before its first request, and what that
    costs per request when workers are recycled after GUNICORN_MAX_REQUESTS (plus jitter) requests."""
    import servicekit.gunicorn_conf as gunicorn_conf  # reads the same environment the services get

    lifetime = gunicorn_conf.max_requests + gunicorn_conf.max_requests_jitter / 2
    table = {pid: cpu for pid, (_, cpu) in cpu_processes().items()}
    boot = {}
    for name, pid in named_pids(infra).items():
        if name.endswith("-web"):
            workers = procs.children(pid)
            boot[name] = round(max((table.get(w, 0.0) for w in workers), default=0.0), 2)
    return {
        "worker_boot_cpu_s": boot,
        "gunicorn_max_requests": gunicorn_conf.max_requests,
        "gunicorn_max_requests_jitter": gunicorn_conf.max_requests_jitter,
        "amortized_cpu_ms_per_request": {
            name: round(cpu * 1000 / lifetime, 2) if lifetime else 0.0 for name, cpu in boot.items()
        },
    }


# --- soak and memory ------------------------------------------------------------------------------


def named_pids(infra: Infra) -> dict[str, int]:
    stack = infra.require_stack()
    return {
        name: process.pid
        for name, process in stack.processes.items()
        if process.poll() is None and name not in ("gateway", "oidc")
    }


class MemorySampler(threading.Thread):
    """Samples the memory of the stack's processes (web processes: each worker) every `every_s` seconds."""

    def __init__(self, pids: Callable[[], dict[str, int]], every_s: float) -> None:
        super().__init__(daemon=True)
        self.pids, self.every_s = pids, every_s
        self.samples: list[tuple[float, list[procs.Sample]]] = []
        self.peaks: dict[str, int] = {}  # each process ever seen -> its highest VmHWM
        self.stopping = threading.Event()
        self.started_at = time.monotonic()

    def take(self) -> None:
        taken = procs.sample(self.pids())
        self.samples.append((time.monotonic() - self.started_at, taken))
        for each in taken:
            self.peaks[each.name] = max(self.peaks.get(each.name, 0), each.peak)

    def run(self) -> None:
        while not self.stopping.is_set():
            self.take()
            self.stopping.wait(self.every_s)

    def stop(self) -> None:
        self.stopping.set()
        self.join()
        self.take()

    def by_group(self, since_s: float, until_s: float) -> dict[str, float]:
        """Mean RSS per group (a web service's workers together, any other process alone) over a time span."""
        values: dict[str, list[float]] = {}
        for at, taken in self.samples:
            if since_s <= at <= until_s:
                per_group: dict[str, list[int]] = {}
                for each in taken:
                    per_group.setdefault(each.name.split("/")[0], []).append(each.rss)
                for group, rss in per_group.items():
                    values.setdefault(group, []).append(sum(rss) / len(rss))
        return {group: sum(v) / len(v) for group, v in values.items()}


def soak(infra: Infra, plan: Plan, work: Workload) -> dict[str, Any]:
    """The mixed workload for `soak_s`: no errors (client side or in any log), memory growing <= 10%.

    Memory is compared per group: the mean resident size of a web service's workers (gunicorn recycles
    them after GUNICORN_MAX_REQUESTS, so no single worker lives through a long soak) and each relay and
    consumer process, averaged over a tenth of the soak just after the warm-up and over its last tenth.
    """
    offsets = {path: path.stat().st_size for path in infra.log_dir.glob("*.log")}
    sampler = MemorySampler(lambda: named_pids(infra), every_s=max(1.0, plan.soak_s / 100))
    sampler.start()
    meter = CpuMeter(infra.cpu_groups())
    try:
        with meter.measure():
            result = _load(infra, work.mixed_factory(), plan.soak_clients, plan.soak_s, 0)
    finally:
        sampler.stop()
    end = sampler.samples[-1][0]
    window = max(plan.soak_s * 0.1, 2 * sampler.every_s)
    baseline_at = min(30.0, plan.soak_s * 0.2)  # after the warm-up: imports, pools and caches settle
    baseline, final = sampler.by_group(baseline_at, baseline_at + window), sampler.by_group(end - window, end)
    growth = {
        name: round((final[name] - baseline[name]) / baseline[name] * 100, 1) for name in final if baseline.get(name)
    }
    workers = {each.name for _, taken in sampler.samples for each in taken if "/worker-" in each.name}
    return {
        "seconds": plan.soak_s,
        "clients": plan.soak_clients,
        "load": {**result.summary(), **meter.summary(result.all_requests)},
        "log_errors": _log_errors(offsets),
        "memory_growth_pct": dict(sorted(growth.items())),
        "max_memory_growth_pct": max(growth.values(), default=0.0),
        "memory_baseline_s": [round(baseline_at, 1), round(baseline_at + window, 1)],
        "memory_final_s": [round(end - window, 1), round(end, 1)],
        "memory_mb_baseline": {name: round(rss / 1e6, 1) for name, rss in sorted(baseline.items())},
        "memory_mb_final": {name: round(rss / 1e6, 1) for name, rss in sorted(final.items())},
        "gunicorn_workers_seen": len(workers),
    }


def _log_errors(offsets: dict[Path, int]) -> dict[str, Any]:
    """ERROR/CRITICAL lines written by any stack process, and 5xx in the gateway's access log, since `offsets`."""
    errors: Counter[str] = Counter()
    examples: list[str] = []
    for path, offset in offsets.items():
        with path.open("rb") as log:
            log.seek(offset)
            for raw in log:
                line = raw.decode("utf-8", "replace")
                if _is_error(line):
                    errors[path.stem] += 1
                    if len(examples) < 5:
                        examples.append(f"{path.stem}: {line.strip()[:300]}")
    return {"count": sum(errors.values()), "by_process": dict(errors), "examples": examples}


def _is_error(line: str) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    if not isinstance(record, dict):
        return False
    status = record.get("status")
    return record.get("level") in ("ERROR", "CRITICAL", "error") or (isinstance(status, int) and status >= 500)


def memory(infra: Infra, sampler: MemorySampler) -> dict[str, Any]:
    """Peak resident memory (VmHWM) of every gunicorn worker seen during the run (sampled every few
    seconds: workers are recycled), and of the workers alive at the end."""
    sampler.take()
    workers = {name: peak for name, peak in sampler.peaks.items() if "/worker-" in name}
    per_service: dict[str, list[int]] = {}
    for name, peak in workers.items():
        per_service.setdefault(name.split("/")[0], []).append(peak)
    alive = [s for s in procs.sample(named_pids(infra)) if "/worker-" in s.name]
    return {
        "max_worker_peak_mb": round(max(workers.values(), default=0) / 1e6, 1),
        "per_service": {
            service: {"workers_seen": len(peaks), "max_peak_mb": round(max(peaks) / 1e6, 1)}
            for service, peaks in sorted(per_service.items())
        },
        "alive_at_end": {s.name: {"peak_mb": round(s.peak / 1e6, 1), "rss_mb": round(s.rss / 1e6, 1)} for s in alive},
        "other_processes_peak_mb": {
            name: round(peak / 1e6, 1) for name, peak in sorted(sampler.peaks.items()) if "/worker-" not in name
        },
    }
