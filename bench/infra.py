"""The benchmark's own PostgreSQL (durable) and Kafka on ports of its own, and the whole stack on top of them.

Everything is started with the project's own machinery (scripts/postgres.sh, scripts/kafka.sh,
devstack/harness.Stack) and stopped again in `close()`, whatever happened before.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions

from devstack.harness import PROCESS_NAMES, Stack
from devstack.stack import ROOT, SERVICES, StackConfig
from servicekit_testing import free_port

BENCH_DIR = ROOT / ".dev" / "bench"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
# `make run` (PostgreSQL, Kafka, gateway, services, health, OIDC) and `make test` (PostgreSQL, Kafka): never these.
RESERVED_PORTS = frozenset({54329, 9092, 9093, 8080, 5000, 5001, 5002, 9400, 55432, 29092, 29093, *range(9100, 9110)})


def pick_port(taken: set[int]) -> int:
    while True:
        port = int(free_port())
        if port not in RESERVED_PORTS and port not in taken:
            taken.add(port)
            return port


def run_script(*args: str, timeout_s: float = 180) -> None:
    subprocess.run([str(ROOT / "scripts" / args[0]), *args[1:]], check=True, timeout=timeout_s)


def _pid_file(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class User:
    email: str
    role: str
    token: str
    user_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _subject(token: str) -> int:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return int(claims["sub"])


@dataclass
class Infra:
    """PostgreSQL + Kafka + the stack, for one benchmark run."""

    web_concurrency: int
    base: Path = BENCH_DIR
    ports: set[int] = field(default_factory=set)
    pg_port: int = 0
    kafka_port: int = 0
    stack: Stack | None = None
    started: list[str] = field(default_factory=list)

    @property
    def pg_data(self) -> Path:
        return self.base / "pgdata"

    @property
    def kafka_data(self) -> Path:
        return self.base / "kafka"

    @property
    def log_dir(self) -> Path:
        return self.base / "logs"

    def server_url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/{database}"

    def connect(self, database: str, *, autocommit: bool = True) -> psycopg2.extensions.connection:
        connection = psycopg2.connect(self.server_url(database))
        connection.autocommit = autocommit
        return connection

    @contextmanager
    def cursor(self, database: str) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor on a new autocommit connection, closed afterwards (psycopg2's `with connection` would BEGIN)."""
        connection = self.connect(database)
        try:
            with connection.cursor() as cursor:
                yield cursor
        finally:
            connection.close()

    def db_name(self, service: str) -> str:
        return f"bench_{service}"

    # --- start and stop -------------------------------------------------------------------

    def start_servers(self) -> None:
        """A fresh PostgreSQL (durability on: fsync, synchronous_commit, full_page_writes) and Kafka."""
        self._stop_leftovers()
        for path in (self.pg_data, self.kafka_data, self.log_dir):
            shutil.rmtree(path, ignore_errors=True)
        self.pg_data.with_name("pgdata.log").unlink(missing_ok=True)  # the previous run's server log
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.pg_port, self.kafka_port = pick_port(self.ports), pick_port(self.ports)
        controller_port = pick_port(self.ports)
        env_without_fast = {k: v for k, v in os.environ.items() if k != "PG_FAST"}
        subprocess.run(
            [str(ROOT / "scripts" / "postgres.sh"), "start", str(self.pg_data), str(self.pg_port)],
            check=True,
            env=env_without_fast,
            timeout=120,
        )
        self.started.append("postgres")
        run_script("kafka.sh", "start", str(self.kafka_data), str(self.kafka_port), str(controller_port))
        self.started.append("kafka")
        run_script("postgres.sh", "wait", str(self.pg_port), "60")
        run_script("kafka.sh", "wait", str(self.kafka_port), "120")

    def _stop_leftovers(self) -> None:
        """A previous run killed before its cleanup may have left its servers running on these directories."""
        if self.pg_data.exists():
            subprocess.run([str(ROOT / "scripts" / "postgres.sh"), "stop", str(self.pg_data)], check=False)
        if self.kafka_data.exists():
            subprocess.run([str(ROOT / "scripts" / "kafka.sh"), "stop", str(self.kafka_data)], check=False)

    def stack_config(self) -> StackConfig:
        health = [name for name in PROCESS_NAMES if name.endswith(("-relay", "-consumer", "-scheduler"))]
        return StackConfig(
            dev_dir=self.base / "stack",
            pg_port=self.pg_port,
            kafka_port=self.kafka_port,
            gateway_port=pick_port(self.ports),
            web_ports={name: pick_port(self.ports) for name in SERVICES},
            health_ports={name: pick_port(self.ports) for name in health},
            oidc_port=pick_port(self.ports),
            database_urls={name: self.server_url(self.db_name(name)) for name in SERVICES},
            kafka_bootstrap_servers=f"127.0.0.1:{self.kafka_port}",
            topic_prefix="bench.",
            web_concurrency=self.web_concurrency,
            # One mint serves the whole run (verification costs the same whatever the lifetime).
            extra_env={"ACCESS_TOKEN_TTL_SECONDS": str(4 * 3600)},
        )

    def start_stack(self) -> Stack:
        stack = Stack(self.stack_config(), self.log_dir)
        self.stack = stack
        stack.create_databases()
        stack.start_all()
        return stack

    def users(self, specs: list[tuple[str, str]]) -> list[User]:
        """Create the users through the operators' CLI (each with its user_created event) and mint their tokens."""
        stack = self.require_stack()

        def mint(spec: tuple[str, str]) -> User:
            token = stack.token(*spec)
            return User(spec[0], spec[1], token, _subject(token))

        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(mint, specs))

    def require_stack(self) -> Stack:
        if self.stack is None:
            raise RuntimeError("the stack is not started")
        return self.stack

    def close(self, *, keep_data: bool = False) -> None:
        if self.stack is not None:
            self.stack.stop_all()
        if "kafka" in self.started:
            subprocess.run([str(ROOT / "scripts" / "kafka.sh"), "stop", str(self.kafka_data)], check=False)
        if "postgres" in self.started:
            subprocess.run([str(ROOT / "scripts" / "postgres.sh"), "stop", str(self.pg_data)], check=False)
        if not keep_data:
            for path in (self.pg_data, self.kafka_data):
                shutil.rmtree(path, ignore_errors=True)

    # --- helpers over the running stack ---------------------------------------------------

    def cpu_groups(self, web: str = "reservation-web") -> dict[str, list[int]]:
        """Process groups for CPU accounting: the service under test, the gateway, PostgreSQL, the events path."""
        stack = self.require_stack()
        pids = {name: process.pid for name, process in stack.processes.items() if process.poll() is None}
        groups = {
            "service": [pids[web]] if web in pids else [],
            "gateway": [pids["gateway"]] if "gateway" in pids else [],
            "postgres": [_pid_file(self.pg_data / "postmaster.pid")],
            "events": [pid for name, pid in pids.items() if name.endswith(("-relay", "-consumer"))]
            + [_pid_file(self.kafka_data / "kafka.pid")],
            "other_web": [pid for name, pid in pids.items() if name.endswith("-web") and name != web],
        }
        return {name: [pid for pid in group if pid] for name, group in groups.items()}

    def named_pids(self) -> dict[str, int]:
        """The stack's running processes but NGINX and the OIDC provider, by name (web: gunicorn's master)."""
        stack = self.require_stack()
        return {
            name: process.pid
            for name, process in stack.processes.items()
            if process.poll() is None and name not in ("gateway", "oidc")
        }

    def scalar(self, service: str, sql: str, params: tuple[Any, ...] = ()) -> Any:
        with self.cursor(self.db_name(service)) as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return row[0] if row else None

    def wait_for(self, check: Any, what: str, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while not check():
            if time.monotonic() > deadline:
                raise RuntimeError(f"not within {timeout_s:g} s: {what}")
            time.sleep(0.2)
