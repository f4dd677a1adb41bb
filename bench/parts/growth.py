"""How cost grows with data: bulk-load to each size, time every endpoint from one client, EXPLAIN the SQL; and
`whatif`, run last: EXPLAIN ANALYZE of what would make the slow queries cheaper, on the same data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bench import explain
from bench.dataset import BulkLoader, search_windows
from bench.measure import Bench, sequential
from bench.table import table
from bench.workload import SEARCH_FILTERS

ENDPOINTS = {
    "create": "POST /reservations",
    "list": "GET /reservations (own)",
    "availability": "GET /availability (a room's day)",
    "search": "free-room search",
    "list_admin": "GET /reservations (admin: all)",
}


def run(b: Bench) -> dict[str, Any]:
    """Bulk-load to each size and time every endpoint whose work depends on the reservations table."""
    work, plan = b.work, b.plan
    loader = BulkLoader(b.infra, list(work.rooms), work.reader.user_id)
    factories = {
        "create": work.create,
        "list": work.list_own,
        "availability": work.availability_factory(),
        "search": work.search_factory(),
        "list_admin": work.list_all,
    }
    stages: dict[str, Any] = {}
    for size in plan.growth_sizes:
        stage: dict[str, Any] = {"load": loader.grow_to(size)}
        for kind, factory in factories.items():
            requests = plan.admin_list_requests if kind == "list_admin" else plan.growth_requests
            stage[kind] = sequential(b.infra, factory, requests).summary()
        stages[str(size)] = stage
    smallest, largest = stages[str(plan.growth_sizes[0])], stages[str(plan.growth_sizes[-1])]
    factors = {
        kind: {
            q: round(largest[kind][q] / smallest[kind][q], 2) if smallest[kind][q] else None
            for q in ("p50_ms", "p99_ms")
        }
        for kind in factories
    }
    return {"rooms": len(work.rooms), "stages": stages, "growth_factor": factors, "explain": _explain_largest(b)}


def _search_parameters() -> tuple[datetime, datetime, int, str]:
    start, end = (datetime.fromisoformat(t) for t in search_windows()[2])
    return start, end, int(SEARCH_FILTERS["min_capacity"]), SEARCH_FILTERS["equipment"]


def _explain_largest(b: Bench) -> dict[str, Any]:
    url = b.infra.server_url(b.infra.db_name("reservation"))
    return {
        "search": explain.free_rooms(url, *_search_parameters()),
        "list": explain.own_list(url, b.work.reader.user_id, "employee"),
        "list_admin": explain.own_list(url, b.work.admin.user_id, "admin"),
    }


def run_whatif(b: Bench) -> dict[str, Any]:
    """EXPLAIN ANALYZE of alternatives on the same data (run last: it adds an index for a moment)."""
    url = b.infra.server_url(b.infra.db_name("reservation"))
    start, end, capacity, equipment = _search_parameters()
    parameters = {"start": start, "end": end, "capacity": capacity, "equipment": equipment.split(","), "max_hours": 12}
    searches = {
        name: {"sql": " ".join(sql.split()), "plan": explain.explain_sql(url, sql, parameters)}
        for name, sql in (
            ("search_one_statement_gist", explain.ONE_STATEMENT_SEARCH_SQL.format(overlap=explain.GIST_OVERLAP)),
            ("search_one_statement_btree", explain.ONE_STATEMENT_SEARCH_SQL.format(overlap=explain.BTREE_OVERLAP)),
        )
    }
    ddl = "CREATE INDEX bench_whatif_start_id ON reservations (start_time, id)"
    admin = explain.with_index(
        url, ddl, "bench_whatif_start_id", lambda: explain.own_list(url, b.work.admin.user_id, "admin")
    )
    return {**searches, "list_admin_with_index_start_time_id": {"ddl": ddl, "plans": admin}}


def render(g: dict[str, Any], _: dict[str, Any]) -> list[str]:
    stages = g["stages"]
    header = ("1 client, p50 / p99 ms", *[f"{int(size):,} rows" for size in stages], "growth p50 / p99")
    rows = []
    for kind, name in ENDPOINTS.items():
        if kind in g["growth_factor"]:
            cells = [f"{s[kind]['p50_ms']:.1f} / {s[kind]['p99_ms']:.1f}" for s in stages.values()]
            factor = g["growth_factor"][kind]
            rows.append((name, *cells, f"x{factor['p50_ms']} / x{factor['p99_ms']}"))
    loads = [
        f"{s['load']['added']:,} rows in {s['load']['copy_s']} s + {s['load']['vacuum_analyze_s']} s"
        for s in stages.values()
    ]
    rows.append(("bulk load (COPY + VACUUM ANALYZE)", *loads, ""))
    title = f"How cost grows with data ({g.get('rooms', 0):,} rooms via the event path; reservations by COPY)"
    out = table(title, header, rows)
    for kind, plans in g.get("explain", {}).items():
        for plan in plans:
            out.append(f"  EXPLAIN ANALYZE at the largest size, {kind}: {plan['total']}  ({plan['sql'][:90]}...)")
    return out


def _execution(plan: list[str]) -> float:
    line = next((line for line in plan if line.startswith("Execution Time")), "Execution Time: 0 ms")
    return float(line.split(":")[1].split()[0])


def render_whatif(w: dict[str, Any], parts: dict[str, Any]) -> list[str]:
    explained = parts.get("growth", {}).get("explain", {})
    size = f"{int(list(parts['growth']['stages'])[-1]):,} rows" if "growth" in parts else "this data"
    service_search = " + ".join(f"{_execution(p['plan']):.1f}" for p in explained.get("search", []))
    service_admin = " + ".join(f"{_execution(p['plan']):.1f}" for p in explained.get("list_admin", []))
    gist = _execution(w["search_one_statement_gist"]["plan"])
    btree = _execution(w["search_one_statement_btree"]["plan"])
    indexed = " + ".join(f"{_execution(p['plan']):.1f}" for p in w["list_admin_with_index_start_time_id"]["plans"])
    rows = [
        (
            "free-room search (count + page)",
            service_search or "-",
            f"one statement (count(*) OVER ()): {gist:.1f}; and overlap bounded on the btree index"
            f" ix_reservations_room_start: {btree:.1f}",
        ),
        (
            "GET /reservations, admin (count + page)",
            service_admin or "-",
            f"{indexed} (with an index on (start_time, id))",
        ),
    ]
    title = f"What would help: EXPLAIN ANALYZE at {size}, ms (SQL and plans in results.json)"
    return table(title, ("query", "the service's SQL", "alternative"), rows)
