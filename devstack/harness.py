"""A whole stack on free ports, for the system tests and the benchmark: each process startable, stoppable, killable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from devstack.gateway import render_gateway_config
from devstack.stack import (
    LOCAL_USERS,
    ROLES,
    ROOT,
    SERVICES,
    StackConfig,
    child_env,
    oidc_provider_command,
    service_command,
)
from servicekit.dbadmin import drop_database, ensure_database
from servicekit_testing import free_port, kafka_servers, postgres_server_url, unique_name

PROCESS_NAMES = ["oidc"] + [f"{s}-{r}" for s in SERVICES for r in ROLES[s]] + ["gateway"]
TEST_USERS = [
    *LOCAL_USERS,
    {"sub": "unverified@example.com", "email": "unverified@example.com", "email_verified": False},
    {"sub": "outsider@other.org", "email": "outsider@other.org", "email_verified": True, "name": "Outsider"},
]


def system_stack_config(log_dir: Path, kafka: str | None = None, postgres: str | None = None) -> StackConfig:
    from sqlalchemy.engine import make_url

    server = make_url(postgres or postgres_server_url())
    run_id = unique_name("sys")
    return StackConfig(
        dev_dir=log_dir,
        gateway_port=free_port(),
        web_ports={name: free_port() for name in SERVICES},
        health_ports={
            name: free_port() for name in PROCESS_NAMES if name.endswith(("-relay", "-consumer", "-scheduler"))
        },
        oidc_port=free_port(),
        database_urls={
            name: server.set(database=f"{run_id}_{name}").render_as_string(hide_password=False) for name in SERVICES
        },
        kafka_bootstrap_servers=kafka or kafka_servers(),
        topic_prefix=f"{run_id}.",
        web_concurrency=3,  # several workers, so concurrency tests race for real
        # Tests share one client address; keep the auth limit out of their way except where a test lowers it.
        extra_env={
            "GATEWAY_AUTH_RATE": "1000r/s",
            "GATEWAY_AUTH_BURST": "1000",
            "SCHEDULER_POLL_SECONDS": "1",  # no-shows released within a second or two of their deadline
            "ALLOWED_EMAIL_DOMAINS": "example.com",
        },
    )


@dataclass
class Stack:
    config: StackConfig
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.config.gateway_port}"

    def web(self, service: str) -> str:
        return f"http://127.0.0.1:{self.config.web_ports[service]}"

    def health(self, name: str) -> str:
        if name in self.config.health_ports:
            return f"http://127.0.0.1:{self.config.health_ports[name]}"
        service, role = name.split("-")[:2]
        return f"http://127.0.0.1:{self.config.health_port(service, role)}"

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def create_databases(self) -> None:
        for service in SERVICES:
            url = self.config.database_url(service)
            ensure_database(url)
            env = child_env(self.config.service_env(service, "migrate"))
            subprocess.run(service_command(service, "migrate"), env=env, check=True, capture_output=True)

    def drop_databases(self) -> None:
        for service in SERVICES:
            drop_database(self.config.database_url(service))

    def start(self, name: str, wait: bool = True, extra_env: dict[str, str] | None = None) -> None:
        """Start a process by name; `reservation-consumer-2` and the like are further instances of a role."""
        assert name not in self.processes or self.processes[name].poll() is not None, f"{name} is running"
        if name == "gateway":
            conf = render_gateway_config(self.config)
            command = [str(ROOT / "scripts" / "gateway.sh"), "run", str(conf), str(conf.parent)]
            env = child_env({})
        elif name == "oidc":
            command, env = oidc_provider_command(self.config.oidc_port, TEST_USERS), child_env({})
        else:
            service, role = name.split("-")[:2]
            service_env = self.config.service_env(service, role)
            if name not in PROCESS_NAMES:
                service_env["HEALTH_PORT"] = str(self.config.health_ports.setdefault(name, free_port()))
            command, env = service_command(service, role), child_env({**service_env, **(extra_env or {})})
        log = self.log(name).open("ab")
        self.processes[name] = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        if wait:
            self.wait_ready(name)

    def wait_ready(self, name: str, timeout_s: float = 60) -> None:
        url = {
            "gateway": f"{self.gateway}/healthz",
            "oidc": f"{self.config.oidc_url}/.well-known/openid-configuration",
        }.get(name) or (
            f"{self.web(name.split('-')[0])}/readyz" if name.endswith("-web") else f"{self.health(name)}/healthz"
        )
        deadline = time.monotonic() + timeout_s
        while True:
            process = self.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or too busy starting to answer
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready at {url}:\n{self.tail(name)}")
            time.sleep(0.1)

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout_s: float = 30) -> int:
        process = self.processes[name]
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        return process.returncode

    def kill(self, name: str) -> int:
        return self.stop(name, signal.SIGKILL)

    def start_all(self) -> None:
        for name in PROCESS_NAMES:
            self.start(name, wait=False)
        for name in PROCESS_NAMES:
            self.wait_ready(name)

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.log(name)
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"

    def token(self, email: str, role: str) -> str:
        env = child_env(self.config.service_env("user", "migrate"))
        command = [service_command("user", "web")[0], "-m", "flask", "--app", "user_service", "users", "token", email]
        result = subprocess.run([*command, "--role", role], env=env, check=True, capture_output=True, text=True)
        return result.stdout.strip()


@contextmanager
def moto_server(extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """A local AWS-compatible server (moto) over HTTP, with `extra_env` for moto's own settings; yields its
    endpoint URL."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **(extra_env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        # Its first answer loads moto's backends: seconds when the machine is busy.
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(endpoint, timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert process.poll() is None, "moto_server exited"
                assert time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def running_stack(config: StackConfig, log_dir: Path, *, drop_databases: bool = True) -> Iterator[Stack]:
    """A stack with fresh databases and every process started; all stopped (and the databases dropped) after."""
    stack = Stack(config, log_dir)
    stack.create_databases()
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop_all()
        if drop_databases:
            stack.drop_databases()
