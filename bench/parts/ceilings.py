"""Ceilings measured in the same run: pgbench single-row inserts, and the minimal Flask app behind NGINX."""

from __future__ import annotations

import json
from typing import Any

from bench import ceiling, processes
from bench.loadgen import Request
from bench.measure import Bench, measured
from bench.table import LOAD_HEADER, Row, fmt, load_row, table
from bench.wrk import client_check


def minimal_body(room: int) -> dict[str, Any]:
    return {
        "room_id": room,
        "start_time": "2030-01-01T10:00:00+00:00",
        "end_time": "2030-01-01T11:00:00+00:00",
        "purpose": "Benchmark",
    }


def minimal_app(b: Bench) -> ceiling.CeilingApp:
    env = {"BENCH_CEILING_DATABASE_URL": b.infra.server_url(ceiling.CEILING_DB)}
    return ceiling.CeilingApp(b.infra, "ceiling", "bench.minimal_app:app", env, minimal_body(1))


def run(b: Bench) -> dict[str, Any]:
    ceiling.prepare_database(b.infra)
    out: dict[str, Any] = {"pgbench": {}, "minimal_flask": {}}
    for clients in b.plan.levels:
        out["pgbench"][str(clients)] = ceiling.pgbench(b.infra, clients, b.plan.ceiling_s, b.infra.base / "pgbench")
    body = minimal_body(b.work.rooms[0])

    def post(client: int) -> Request:
        user = b.work.users[client % len(b.work.users)]
        return Request.json("POST", "/reservations", body, user.headers, expect=(201,), label="ceiling")

    with minimal_app(b) as app:
        for clients in b.plan.levels:
            out["minimal_flask"][str(clients)] = measured(
                b.infra, post, clients, b.plan.ceiling_s, b.plan.warmup_s, gateway=app.gateway, groups=app.groups
            )
        seconds = max(2.0, b.plan.ceiling_s / 3)
        out["client_check"] = client_check(app.gateway, json.dumps(body), seconds, b.infra.base)
        peaks = (s.peak / 1e6 for s in processes.sample({"ceiling-web": app.web_pid}))
        out["minimal_flask_worker_peak_mb"] = round(max(peaks, default=0.0), 1)
    return out


def render(c: dict[str, Any], _: dict[str, Any]) -> list[str]:
    rows: list[Row] = [
        (f"pgbench INSERT, {k} clients", fmt(v["throughput_rps"]), fmt(v["p50_ms"]), fmt(v["p99_ms"]), *["-"] * 7)
        for k, v in c["pgbench"].items()
    ]
    rows += [load_row(f"minimal Flask via NGINX, {k} clients", v) for k, v in c["minimal_flask"].items()]
    title = "Ceilings (same run, same PostgreSQL, same gunicorn settings, same NGINX config; same-work: see creation)"
    return [*table(title, LOAD_HEADER, rows), _client_note(c.get("client_check", {}))]


def _client_note(check: dict[str, Any]) -> str:
    note = f"load generator check (16 clients): wrk {check.get('wrk')}"
    nginx = check.get("python_nginx_healthz_16", {})
    if "wrk_minimal_app_16_rps" not in check:
        return note + f"; NGINX /healthz: Python client {nginx.get('throughput_rps', 0):,.0f} req/s"
    return note + (
        f"; minimal app: Python client {check['python_minimal_app_16_rps']:,.0f} req/s vs wrk"
        f" {check['wrk_minimal_app_16_rps']:,.0f} ({check.get('python_vs_wrk_minimal_app', 0):.0%})"
        f"; NGINX /healthz: Python {nginx.get('throughput_rps', 0):,.0f} req/s"
        f" ({nginx.get('client_cpu_cores', 0):.2f} cores) vs wrk {check['wrk_nginx_healthz_16']['throughput_rps']:,.0f}"
    )
