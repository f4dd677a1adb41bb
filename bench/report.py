"""The printed table and the targets of issue 10 (and issue 5's propagation), each met or not met."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Row = tuple[str, ...]


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.0%}" if a and b else "-"


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}" if abs(value) < 1000 else f"{value:,.0f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value}{unit}"


def _numeric(cell: str) -> bool:
    return bool(cell) and (cell[0].isdigit() or cell[0] in "-x" or cell in ("MET", "NOT MET", "n/a"))


def _table(title: str, header: Row, rows: Iterable[Row]) -> list[str]:
    rows = list(rows)
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    line = "  ".join("-" * w for w in widths)
    out = [f"\n== {title}", "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(), line]
    for row in rows:
        cells = [
            c.rjust(w) if i and _numeric(c) else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    return out


def _load_row(label: str, s: dict[str, Any], *extra: str) -> Row:
    cpu = s.get("cpu_ms_per_request", {})
    return (
        label,
        _fmt(s["throughput_rps"]),
        _fmt(s["p50_ms"]),
        _fmt(s["p99_ms"]),
        _fmt(s["errors"]),
        *(_fmt(cpu.get(group)) for group in ("service", "gateway", "postgres")),
        f"{s['client_cpu_cores']:.2f}",
        _fmt(s.get("bench_cores")),
        _fmt(s.get("machine_busy_cores")),
        *extra,
    )


# CPU columns: milliseconds of CPU per request in the app's gunicorn workers, NGINX and PostgreSQL;
# cores used by the load generator, by the whole stack with it ("ours"), and by the whole machine (other
# users included) during the run.
LOAD_HEADER = ("", "req/s", "p50 ms", "p99 ms", "errors", "app cpu", "nginx cpu", "pg cpu", "client", "ours", "machine")


def render(results: dict[str, Any]) -> str:
    lines = [_machine(results)]
    parts = results.get("parts", {})
    for key, renderer in (
        ("ceilings", _ceilings),
        ("creation", _creation),
        ("reads", _reads),
        ("growth", _growth),
        ("contention", _contention),
        ("propagation", _events),
        ("recovery", _recovery),
        ("profile", _profile),
        ("soak", _soak),
        ("memory", _memory),
        ("whatif", _whatif),
    ):
        if key in parts:
            lines += renderer(parts[key], parts)
    lines += _table("Targets", ("target", "measured", "goal", "result"), [t[:4] for t in results.get("targets", [])])
    return "\n".join(lines)


def _machine(results: dict[str, Any]) -> str:
    m = results["machine"]
    setup = results.get("setup", {})
    boot = setup.get("worker_boot_cpu_s", {})
    recycling = (
        f"\ngunicorn workers recycled every {setup.get('gunicorn_max_requests')} (+ up to"
        f" {setup.get('gunicorn_max_requests_jitter')}) requests; a new worker's start costs "
        + ", ".join(
            f"{name} {cpu} s CPU (~{setup['amortized_cpu_ms_per_request'].get(name)} ms per request)"
            for name, cpu in boot.items()
        )
        if boot
        else ""
    )
    return (
        f"make bench — {results['mode']} run, {results['started_at']}, {results['duration_s']:.0f} s\n"
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, {m['kernel']}; {m['postgres']};"
        f" load average {m['load_start']} at start, {m['load_end']} at end\n"
        f"stack: gunicorn {m['web_concurrency']} sync workers per service, NGINX gateway, PostgreSQL with fsync,"
        f" synchronous_commit and full_page_writes on"
        f"{recycling}"
    )


def _ceilings(c: dict[str, Any], _: dict[str, Any]) -> list[str]:
    rows: list[Row] = [
        (
            "pgbench INSERT, " + k + " clients",
            _fmt(v["throughput_rps"]),
            _fmt(v["p50_ms"]),
            _fmt(v["p99_ms"]),
            *["-"] * 7,
        )
        for k, v in c["pgbench"].items()
    ]
    rows += [_load_row(f"minimal Flask via NGINX, {k} clients", v) for k, v in c["minimal_flask"].items()]
    out = _table("Ceilings (same run, same PostgreSQL, same gunicorn settings, same NGINX config)", LOAD_HEADER, rows)
    check = c.get("client_check", {})
    note = f"load generator check (16 clients): wrk {check.get('wrk')}"
    nginx = check.get("python_nginx_healthz_16", {})
    if "wrk_minimal_app_16_rps" in check:
        note += (
            f"; minimal app: Python client {check['python_minimal_app_16_rps']:,.0f} req/s vs wrk"
            f" {check['wrk_minimal_app_16_rps']:,.0f} ({check.get('python_vs_wrk_minimal_app', 0):.0%})"
            f"; NGINX /healthz: Python {nginx.get('throughput_rps', 0):,.0f} req/s"
            f" ({nginx.get('client_cpu_cores', 0):.2f} cores)"
            f" vs wrk {check['wrk_nginx_healthz_16']['throughput_rps']:,.0f}"
        )
    else:
        healthz = check.get("python_nginx_healthz_16", {}).get("throughput_rps", 0)
        note += f"; NGINX /healthz: Python client {healthz:,.0f} req/s"
    return [*out, note]


def cpu_per_request(s: dict[str, Any]) -> float:
    """CPU per request in the app, NGINX and PostgreSQL together (ms)."""
    cpu = s.get("cpu_ms_per_request", {})
    return float(sum(cpu.get(group) or 0.0 for group in ("service", "gateway", "postgres")))


def _creation(c: dict[str, Any], parts: dict[str, Any]) -> list[str]:
    ceilings = parts.get("ceilings", {})
    rows = []
    for clients, s in c.items():
        flask = ceilings.get("minimal_flask", {}).get(clients, {})
        pg = ceilings.get("pgbench", {}).get(clients, {}).get("throughput_rps")
        by_cpu = _ratio(cpu_per_request(flask), cpu_per_request(s)) if flask else "-"
        rows.append(
            _load_row(
                f"{clients} clients",
                s,
                _ratio(s["throughput_rps"], flask.get("throughput_rps")),
                by_cpu,
                _ratio(s["throughput_rps"], pg),
            )
        )
    out = _table(
        "Reservation creation through the gateway (valid JWT, distinct slots)",
        (*LOAD_HEADER, "of minimal Flask", "by CPU", "of pgbench"),
        rows,
    )
    out.append(
        "\"by CPU\": minimal Flask's CPU per request (app + NGINX + PostgreSQL) over creation's — the throughput"
        " ratio a dedicated machine would give when CPU-bound, less sensitive to what else runs here"
    )
    return out


def _reads(r: dict[str, Any], _: dict[str, Any]) -> list[str]:
    names = {
        "list": "GET /reservations (own, 50 of 100)",
        "availability": "GET /availability (a room's day)",
        "search": "GET /availability/rooms (1 h, filters)",
        "feed": "GET /calendar/feeds/<secret>.ics (at the service: the gateway limits one URL to 30/min)",
    }
    rows = [
        _load_row(f"{names[kind]}, {clients} clients", s) for kind in names for clients, s in r.get(kind, {}).items()
    ]
    return _table("Reads through the gateway", LOAD_HEADER, rows)


def _growth(g: dict[str, Any], _: dict[str, Any]) -> list[str]:
    names = {
        "create": "POST /reservations",
        "list": "GET /reservations (own)",
        "search": "free-room search",
        "list_admin": "GET /reservations (admin: all) [info]",
    }
    stages = g["stages"]
    header = ("1 client, p50 / p99 ms", *[f"{int(size):,} rows" for size in stages], "growth p50 / p99")
    rows = []
    for kind, name in names.items():
        cells = [f"{s[kind]['p50_ms']:.1f} / {s[kind]['p99_ms']:.1f}" for s in stages.values()]
        factor = g["growth_factor"][kind]
        rows.append((name, *cells, f"x{factor['p50_ms']} / x{factor['p99_ms']}"))
    loads = [
        f"{s['load']['added']:,} rows in {s['load']['copy_s']} s + {s['load']['vacuum_analyze_s']} s"
        for s in stages.values()
    ]
    rows.append(("bulk load (COPY + VACUUM ANALYZE)", *loads, ""))
    title = f"How cost grows with data ({g.get('rooms', 0):,} rooms via the event path; reservations by COPY)"
    out = _table(title, header, rows)
    for kind, plans in g.get("explain", {}).items():
        for plan in plans:
            out.append(f"  EXPLAIN ANALYZE at the largest size, {kind}: {plan['total']}  ({plan['sql'][:90]}...)")
    return out


def _contention(c: dict[str, Any], _: dict[str, Any]) -> list[str]:
    rows = [
        (
            f"{c['clients']} clients x {c['rounds']} rounds",
            str(c["rounds_with_exactly_one_winner"]),
            str(c["winners_per_round"]),
            str(c["confirmed_rows_per_slot_in_db"]),
            str(c["statuses"]),
            f"{c['p50_ms']:.0f} / {c['p99_ms']:.0f}",
        )
    ]
    header = ("", "rounds with 1 winner", "winners: rounds", "DB rows: slots", "statuses", "p50 / p99 ms")
    return _table("Contention: everyone books the same slot", header, rows)


def _events(p: dict[str, Any], parts: dict[str, Any]) -> list[str]:
    rows = [
        (
            "room deleted at gateway -> its reservations cancelled",
            f"{p['measured']} of {p['deletions']}",
            _fmt(p["p50_ms"]),
            _fmt(p["p99_ms"]),
            _fmt(p["max_ms"]),
        )
    ]
    out = _table(
        "Event propagation (sequential deletions, 2 reservations each)",
        ("", "deletions", "p50 ms", "p99 ms", "max ms"),
        rows,
    )
    relay = parts.get("relay")
    if relay:
        out.append(
            f"relay throughput: {relay['events']:,} reservation events, {_fmt(relay['events_per_s'])} events/s"
            f" (first to last publish {relay['first_to_last_publish_s']} s; {relay['drain_s_including_relay_start']} s"
            " including the relay's start)"
        )
    return out


def _recovery(r: dict[str, Any], _: dict[str, Any]) -> list[str]:
    rows = [
        (
            f"{mode} member: killed -> its room's reservations cancelled",
            f"{r[mode]['measured']} of {r['kills_per_mode']}",
            _fmt(r[mode]["p50_s"]),
            _fmt(r[mode]["p99_s"]),
            _fmt(r[mode]["max_s"]),
        )
        for mode in ("static", "dynamic")
        if mode in r
    ]
    title = "Recovery after a consumer crash (SIGKILL, restarted at once, then a room deleted; from the kill)"
    return _table(title, ("", "kills", "p50 s", "p99 s", "max s"), rows)


def _profile(p: dict[str, Any], _: dict[str, Any]) -> list[str]:
    rows = []
    for target, calls in p.items():
        for call, r in calls.items():
            shares = ", ".join(f"{part} {share}" for part, share in list(r["cpu_share_by_part"].items())[:4])
            rows.append((f"{target} {call}", _fmt(r["cpu_ms_per_request"]), _fmt(r["wall_ms_per_request"]), shares))
    header = ("in process, Flask test client", "cpu ms/req", "wall ms/req", "where the CPU goes (sampled)")
    return _table("The app alone, in process (Flask test client; details in results.json)", header, rows)


def _soak(s: dict[str, Any], _: dict[str, Any]) -> list[str]:
    load = s["load"]
    grown = sorted(s["memory_growth_pct"].items(), key=lambda kv: -kv[1])[:1]
    rows = [
        (
            f"{s['seconds']:.0f} s, {s['clients']} clients, mixed",
            _fmt(load["requests"]),
            _fmt(load["throughput_rps"]),
            f"{load['p50_ms']:.1f} / {load['p99_ms']:.1f}",
            str(load["errors"]),
            str(s["log_errors"]["count"]),
            f"{s['max_memory_growth_pct']:.1f}%",
            ", ".join(name for name, _ in grown),
            str(s.get("gunicorn_workers_seen", "-")),
        )
    ]
    header = (
        "",
        "requests",
        "req/s",
        "p50 / p99 ms",
        "client errors",
        "log errors",
        "max growth",
        "in",
        "workers seen",
    )
    return _table("Soak (create / own list / a day's availability / free-room search, in turn)", header, rows)


def _memory(m: dict[str, Any], _: dict[str, Any]) -> list[str]:
    rows = [(name, str(v["workers_seen"]), _fmt(v["max_peak_mb"])) for name, v in m["per_service"].items()]
    return _table(
        "Peak memory per gunicorn worker over the run (VmHWM, sampled every 2 s; MB = 10^6 bytes)",
        ("service", "workers seen", "max peak MB"),
        rows,
    )


def _execution(plan: list[str]) -> float:
    line = next((line for line in plan if line.startswith("Execution Time")), "Execution Time: 0 ms")
    return float(line.split(":")[1].split()[0])


def _whatif(w: dict[str, Any], parts: dict[str, Any]) -> list[str]:
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
    return _table(title, ("query", "the service's SQL", "alternative"), rows)


# --- targets ---------------------------------------------------------------------------------------


def targets(parts: dict[str, Any], *, quick: bool) -> list[tuple[str, str, str, str]]:
    out: list[tuple[str, str, str, str]] = []

    def add(name: str, measured: str, goal: str, met: bool | None) -> None:
        out.append((name, measured, goal, "n/a" if met is None else ("MET" if met else "NOT MET")))

    creation, ceilings = parts.get("creation", {}), parts.get("ceilings", {})
    if "16" in creation and "16" in ceilings.get("minimal_flask", {}):
        ratio = creation["16"]["throughput_rps"] / max(ceilings["minimal_flask"]["16"]["throughput_rps"], 1e-9)
        add("creation vs minimal Flask, 16 clients", f"{ratio:.0%}", ">= 60%", ratio >= 0.6)
    if "16" in creation:
        add(
            "creation p99, 16 clients", f"{creation['16']['p99_ms']:.1f} ms", "<= 50 ms", creation["16"]["p99_ms"] <= 50
        )
    growth = parts.get("growth")
    if growth:
        largest = list(growth["stages"])[-1]
        p99 = growth["stages"][largest]["search"]["p99_ms"]
        add(f"free-room search p99 at {int(largest):,} rows", f"{p99:.1f} ms", "<= 50 ms", p99 <= 50)
        worst = max((f, k, q) for k in ("create", "list", "search") for q, f in growth["growth_factor"][k].items() if f)
        add(
            f"latency growth {next(iter(growth['stages']))} -> {largest} rows (worst: {worst[1]} {worst[2][:3]})",
            f"x{worst[0]}",
            "<= x2",
            worst[0] <= 2,
        )
    propagation = parts.get("propagation")
    if propagation:
        enough = propagation["measured"] >= 200 and propagation["measured"] == propagation["deletions"]
        add(
            f"propagation p99 ({propagation['measured']} deletions)",
            f"{propagation['p99_ms']:.0f} ms",
            "<= 1000 ms over >= 200",
            propagation["p99_ms"] <= 1000 and (enough or quick),
        )
    recovery = parts.get("recovery")
    if recovery:
        modes = [m for m in ("static", "dynamic") if m in recovery]
        slowest = max((recovery[m]["p99_s"] for m in modes), default=0.0)
        failed = sum(recovery["kills_per_mode"] - recovery[m]["measured"] for m in modes)
        add(
            "consumer recovery p99 after SIGKILL (static and dynamic members)",
            f"{slowest:.1f} s" + (f", {failed} not recovered" if failed else ""),
            "<= 15 s",
            slowest <= 15 and not failed,
        )
    contention = parts.get("contention")
    if contention:
        every = contention["rounds_with_exactly_one_winner"] == contention["rounds"]
        in_db = {int(k): v for k, v in contention["confirmed_rows_per_slot_in_db"].items()} == {1: contention["rounds"]}
        add(
            "exactly one winner per contention round",
            f"{contention['rounds_with_exactly_one_winner']}/{contention['rounds']} (DB agrees: {in_db})",
            "every round",
            every and in_db,
        )
        others = {k: v for k, v in contention["statuses"].items() if k not in ("201", "409")}
        add(
            "contention: every other answer is 409 (extra check: no 5xx with the dependencies up)",
            str(others or "none"),
            "none",
            not others,
        )
    memory = parts.get("memory")
    if memory:
        add(
            "peak memory per gunicorn worker",
            f"{memory['max_worker_peak_mb']:.0f} MB",
            "<= 150 MB",
            memory["max_worker_peak_mb"] <= 150,
        )
    soak = parts.get("soak")
    if soak:
        errors = soak["load"]["errors"] + soak["log_errors"]["count"]
        add(f"soak {soak['seconds']:.0f} s: errors", str(errors), "0", errors == 0)
        add(
            "soak: memory growth per process",
            f"{soak['max_memory_growth_pct']:.1f}%",
            "<= 10%",
            soak["max_memory_growth_pct"] <= 10,
        )
    return out


def main() -> None:
    """Print the table of a results file again: `python -m bench.report [bench/results.json]`."""
    import json
    import sys
    from pathlib import Path

    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("results.json"))
    results = json.loads(path.read_text())
    results["targets"] = targets(results.get("parts", {}), quick=results.get("mode") == "quick")
    print(render(results))


if __name__ == "__main__":
    main()
