"""The ceilings' machinery: pgbench single-row inserts, and a ceiling app under the services' gunicorn settings
behind the gateway's own NGINX configuration (bench.minimal_app, bench.same_work_app)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from bench.infra import PG_BIN, Infra, pick_port
from bench.loadgen import percentile
from bench.minimal_app import TABLE_SQL
from devstack.gateway import render_gateway_config
from devstack.stack import PYTHON, ROOT, child_env

CEILING_DB = "bench_ceiling"
PGBENCH_SCRIPT = """\\set room random(1, 1000000)
INSERT INTO ceiling (room_id, user_id, start_time, end_time, purpose)
VALUES (:room, 1, now() + interval '1 day', now() + interval '1 day 1 hour', 'pgbench');
"""


def prepare_database(infra: Infra) -> None:
    """The minimal app's database (once per run)."""
    if infra.scalar("user", "SELECT 1 FROM pg_database WHERE datname = %s", (CEILING_DB,)):
        return
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
    connect = ["-h", "127.0.0.1", "-p", str(infra.pg_port), "-U", "postgres"]
    command = [str(binary), "-n", *connect, "-M", "prepared", "-f", str(script), "-c", str(clients)]
    command += ["-j", str(min(clients, 2)), "-T", str(max(1, round(seconds))), "-l"]
    command += [f"--log-prefix={work_dir / f'pgbench_{clients}'}", CEILING_DB]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=seconds + 120).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", output)
    latencies = [
        int(fields[2]) / 1e6
        for log in work_dir.glob(f"pgbench_{clients}.*")
        for fields in (line.split() for line in log.read_text().splitlines())
        if len(fields) >= 3
    ]
    return {
        "clients": clients,
        "throughput_rps": round(float(match.group(1)) if match else 0.0, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "transactions": len(latencies),
    }


class CeilingApp:
    """gunicorn with the services' settings serving `app` (module:variable), behind the gateway's NGINX config
    rendered with every upstream pointing at it."""

    def __init__(self, infra: Infra, name: str, app: str, env: dict[str, str], probe: dict[str, Any]) -> None:
        self.infra, self.name, self.app, self.env, self.probe = infra, name, app, env, probe
        stack = infra.require_stack()
        self.port = pick_port(infra.ports)
        self.config = replace(
            stack.config,
            dev_dir=infra.base / name,
            gateway_port=pick_port(infra.ports),
            web_ports={service: self.port for service in stack.config.web_ports},
        )
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.config.gateway_port}"

    @property
    def web_pid(self) -> int:
        return self.processes[0].pid

    @property
    def groups(self) -> dict[str, list[int]]:
        """CPU groups as Infra.cpu_groups has them, the app and its NGINX in place of the service's."""
        return {**self.infra.cpu_groups(), "service": [self.processes[0].pid], "gateway": [self.processes[1].pid]}

    def __enter__(self) -> CeilingApp:
        env = {
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(self.config.web_concurrency),
            "SERVICE_NAME": f"bench-{self.name}",
            "LOG_LEVEL": self.config.log_level,
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }
        self._spawn([PYTHON, "-m", "gunicorn", "-c", "python:servicekit.gunicorn_conf", self.app], env, "web")
        conf = render_gateway_config(self.config)
        self._spawn([str(ROOT / "scripts" / "gateway.sh"), "run", str(conf), str(conf.parent)], {}, "gateway")
        try:
            self._wait(f"{self.gateway}/healthz")
            self._wait(f"http://127.0.0.1:{self.port}/reservations", post=True)  # the workers, not only NGINX
        except BaseException:
            self.__exit__()
            raise
        return self

    def _spawn(self, command: list[str], env: dict[str, str], role: str) -> None:
        log = (self.infra.log_dir / f"{self.name}-{role}.log").open("ab")
        process = subprocess.Popen(command, env=child_env(env), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.processes.append(process)

    def _wait(self, url: str, timeout_s: float = 60, *, post: bool = False) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {process.returncode}; see {self.infra.log_dir}")
            try:
                response = requests.post(url, json=self.probe, timeout=2) if post else requests.get(url, timeout=2)
                if response.status_code in (200, 201):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready at {url}")

    def __exit__(self, *_: object) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
