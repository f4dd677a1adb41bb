"""Ceilings measured in the same run: pgbench single-row inserts, and the minimal Flask app behind the gateway.

Also the check that the Python load generator is not the bottleneck: the same load from wrk (installed
from Debian when missing and we may) against the same minimal app, and both against NGINX alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from bench.infra import PG_BIN, Infra, pick_port
from bench.loadgen import LoadResult, Request, percentile, run_load
from bench.minimal_app import TABLE_SQL
from devstack.gateway import render_gateway_config
from devstack.stack import PYTHON, ROOT, child_env

CEILING_DB = "bench_ceiling"
PGBENCH_SCRIPT = """\\set room random(1, 1000000)
INSERT INTO ceiling (room_id, user_id, start_time, end_time, purpose)
VALUES (:room, 1, now() + interval '1 day', now() + interval '1 day 1 hour', 'pgbench');
"""


def prepare_database(infra: Infra) -> None:
    with infra.cursor("postgres") as cursor:
        cursor.execute(f"CREATE DATABASE {CEILING_DB}")
    with infra.cursor(CEILING_DB) as cursor:
        cursor.execute(TABLE_SQL)


def pgbench(infra: Infra, clients: int, seconds: float, work_dir: Path) -> dict[str, Any]:
    """Single-row INSERT transactions (prepared, autocommit: one fsync'd commit each) from `clients` connections."""
    work_dir.mkdir(parents=True, exist_ok=True)
    script = work_dir / "insert.sql"
    script.write_text(PGBENCH_SCRIPT)
    for old in work_dir.glob(f"pgbench_{clients}.*"):
        old.unlink()
    binary = PG_BIN / "pgbench" if (PG_BIN / "pgbench").exists() else Path(shutil.which("pgbench") or "pgbench")
    command = [
        str(binary),
        "-n",
        "-h",
        "127.0.0.1",
        "-p",
        str(infra.pg_port),
        "-U",
        "postgres",
        "-M",
        "prepared",
        "-f",
        str(script),
        "-c",
        str(clients),
        "-j",
        str(min(clients, 2)),
        "-T",
        str(max(1, round(seconds))),
        "-l",
        f"--log-prefix={work_dir / f'pgbench_{clients}'}",
        CEILING_DB,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=seconds + 120).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", output)
    tps = float(match.group(1)) if match else 0.0
    latencies = []
    for log in work_dir.glob(f"pgbench_{clients}.*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3:
                latencies.append(int(fields[2]) / 1e6)
    return {
        "clients": clients,
        "throughput_rps": round(tps, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "transactions": len(latencies),
    }


class MinimalApp:
    """gunicorn with the services' settings serving bench.minimal_app, behind the gateway's NGINX config."""

    def __init__(self, infra: Infra) -> None:
        self.infra = infra
        stack = infra.require_stack()
        self.port = pick_port(infra.ports)
        self.config = replace(
            stack.config,
            dev_dir=infra.base / "ceiling",
            gateway_port=pick_port(infra.ports),
            web_ports={name: self.port for name in stack.config.web_ports},
        )
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.config.gateway_port}"

    @property
    def web_pid(self) -> int:
        return self.processes[0].pid

    @property
    def gateway_pid(self) -> int:
        return self.processes[1].pid

    def start(self) -> None:
        env = child_env(
            {
                "HOST": "127.0.0.1",
                "PORT": str(self.port),
                "WEB_CONCURRENCY": str(self.config.web_concurrency),
                "SERVICE_NAME": "bench-ceiling",
                "LOG_LEVEL": self.config.log_level,
                "PYTHONUNBUFFERED": "1",
                "BENCH_CEILING_DATABASE_URL": self.infra.server_url(CEILING_DB),
            }
        )
        command = [PYTHON, "-m", "gunicorn", "-c", "python:servicekit.gunicorn_conf", "bench.minimal_app:app"]
        self._spawn(command, env, "ceiling-web")
        conf = render_gateway_config(self.config)
        self._spawn(
            [str(ROOT / "scripts" / "gateway.sh"), "run", str(conf), str(conf.parent)], child_env({}), "ceiling-gateway"
        )
        self._wait(f"{self.gateway}/healthz")
        self._wait(f"http://127.0.0.1:{self.port}/reservations", post=True)  # gunicorn's workers, not only NGINX

    def _spawn(self, command: list[str], env: dict[str, str], name: str) -> None:
        log = (self.infra.log_dir / f"{name}.log").open("ab")
        self.processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))

    def _wait(self, url: str, timeout_s: float = 60, *, post: bool = False) -> None:
        deadline = time.monotonic() + timeout_s
        body = {"room_id": 1, "start_time": "2030-01-01T10:00:00+00:00", "end_time": "2030-01-01T11:00:00+00:00"}
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"ceiling process exited with {process.returncode}; see {self.infra.log_dir}")
            try:
                response = requests.post(url, json=body, timeout=2) if post else requests.get(url, timeout=2)
                if response.status_code in (200, 201):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"ceiling gateway not ready at {url}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


# --- wrk, to check the Python client -------------------------------------------------------


def ensure_wrk() -> tuple[str | None, str]:
    """wrk from Debian; installed here when missing and we are root (the only install the benchmark does)."""
    found = shutil.which("wrk")
    if found:
        return found, "present"
    if os.geteuid() != 0:
        return None, "wrk missing and not root: cross-check skipped"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
    done = subprocess.run(install, env=env, capture_output=True, timeout=300, check=False)
    if done.returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=300, check=False)
        done = subprocess.run(install, env=env, capture_output=True, timeout=300, check=False)
    found = shutil.which("wrk")
    return (found, "installed with apt-get") if found else (None, "apt-get install wrk failed: cross-check skipped")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([0-9.]+)(us|ms|s)", text)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0


def wrk(binary: str, url: str, clients: int, seconds: float, work_dir: Path, body: str | None = None) -> dict[str, Any]:
    command = [binary, "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{max(1, round(seconds))}s", "--latency"]
    if body is not None:
        script = work_dir / "post.lua"
        escaped = body.replace("\\", "\\\\").replace("'", "\\'")
        script.write_text(
            f"wrk.method = 'POST'\nwrk.body = '{escaped}'\n"
            "wrk.headers['Content-Type'] = 'application/json'\nwrk.headers['Authorization'] = 'Bearer x'\n"
        )
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "clients": clients,
        "throughput_rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": _ms(p50.group(1)) if p50 else 0.0,
        "p99_ms": _ms(p99.group(1)) if p99 else 0.0,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def healthz_load(gateway: str, clients: int, seconds: float) -> LoadResult:
    return run_load(gateway, lambda _: Request("GET", "/healthz"), clients=clients, seconds=seconds, warmup_s=0.5)
