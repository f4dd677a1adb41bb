"""The built images, run the way the chart runs them: read-only root, user 10001 (backup: 999, gateway: 101),
every capability dropped, host networking on 127.0.0.1, against the test PostgreSQL and Kafka, behind the
gateway image (NGINX with the web app) and its configuration rendered from helm/files/nginx.conf.

`scripts/images.sh` (make images) builds them first; a warm run with nothing changed takes seconds. Every
container has a unique name and is removed at the end, whatever happens.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import psycopg2
import pytest
import requests
from botocore.config import Config

from devstack.harness import Stack, moto_server, system_stack_config
from devstack.stack import ROLES, ROOT, SERVICES, StackConfig
from servicekit.dbadmin import drop_database, ensure_database
from servicekit_testing import unique_name
from tests.logcheck import problems_in

IMAGES = {name: f"meeting-room-system/{name}-service:local" for name in SERVICES}
BACKUP_IMAGE = "meeting-room-system/backup:local"
GATEWAY_IMAGE = "meeting-room-system/gateway:local"
STATIC_ROOT = "/srv/meeting-rooms/web"  # where the gateway image keeps the app (the chart's STATIC_ROOT)
CI_REGISTRY = "docker.io/meetingroomsystem"  # scripts/images.sh's IMAGE_REGISTRY default: what CI pushes
# As the chart's pods run (securityContext): a read-only root with the container's own /tmp, no root, no
# capabilities, no new privileges.
HARDENED = ["--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]  # noqa: S108
DEADLINE_S = 90


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(ROOT / "scripts" / "containers" / "containers.conf")}


def podman(*args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=dict(env or podman_env()), capture_output=True, text=True, timeout=timeout, check=False
    )


class Containers:
    """Containers started by this module, each named uniquely; all removed by remove_all()."""

    def __init__(self, log_dir: Path) -> None:
        self.prefix = unique_name("mrs-test").replace("_", "-")
        self.log_dir = log_dir
        self.names: list[str] = []
        self.service_logs: set[str] = set()  # the JSON logs of our processes, checked like the stack's
        self.log_names: dict[str, str] = {}  # containers whose log is kept under a name of its own

    def run(
        self,
        name: str,
        image: str,
        args: list[str],
        env: Mapping[str, str],
        *,
        user: str = "10001:10001",
        detach: bool = True,
        service_log: bool = True,
        log_as: str | None = None,
        extra: list[str] | None = None,
        timeout: float = 180,
    ) -> subprocess.CompletedProcess[str]:
        """`podman run` with the values of `env` handed over by name (`-e NAME`): no secret on a command line.

        The container's output is kept as `<its name>.log` (checked like a service's log), or `.out` without
        service_log; `log_as` names the file instead (`gateway.log` is checked as the gateway's log)."""
        full = f"{self.prefix}-{name}"
        self.names.append(full)
        if log_as:
            self.log_names[full] = log_as
        elif service_log:
            self.service_logs.add(full)
        command = ["run", "--name", full, "--network", "host", "--user", user, *HARDENED]
        # The HEALTHCHECK stays in the container (the test runs it), without a timer: no systemd here.
        command += ["--health-interval", "disable", *(extra or [])]
        command += [arg for key in env for arg in ("-e", key)]
        command += ["--detach"] if detach else []
        return podman(*command, image, *args, env={**podman_env(), **env}, timeout=timeout)

    def running(self, name: str) -> bool:
        result = podman("inspect", "--format", "{{.State.Running}}", f"{self.prefix}-{name}")
        return result.stdout.strip() == "true"

    def logs(self, name: str, lines: int = 40) -> str:
        result = podman("logs", "--tail", str(lines), f"{self.prefix}-{name}")
        return result.stdout + result.stderr

    def healthcheck(self, name: str) -> subprocess.CompletedProcess[str]:
        return podman("healthcheck", "run", f"{self.prefix}-{name}")

    def remove_all(self) -> None:
        for full in self.names:
            logs = podman("logs", full)
            suffix = "log" if full in self.service_logs else "out"
            (self.log_dir / self.log_names.get(full, f"{full}.{suffix}")).write_text(logs.stdout + logs.stderr)
        leftover, errors = list(self.names), ""
        for _ in range(3):  # podman 4.3 now and then leaves one of many behind: try those again
            if not leftover:
                break
            errors = podman("rm", "--force", "--ignore", "--time", "5", *leftover).stderr
            listed = podman("ps", "--all", "--format", "{{.Names}}", "--filter", f"name=^{self.prefix}-")
            leftover = listed.stdout.split()
        assert not leftover, f"containers left behind: {leftover}\n{errors}"


def wait_for(url: str, containers: Containers, name: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:  # not listening yet
            pass
        assert containers.running(name), f"{name} stopped:\n{containers.logs(name)}"
        assert time.monotonic() < deadline, f"{name} not ready at {url}:\n{containers.logs(name)}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def images(request: pytest.FixtureRequest) -> dict[str, int]:
    """Every image built (or found up to date) by scripts/images.sh; their sizes in bytes, also printed."""
    if not shutil.which("podman"):
        pytest.fail("podman is missing: scripts/bootstrap.sh installs it (make test and make images run it)")
    done = subprocess.run([str(ROOT / "scripts" / "images.sh")], capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    sizes = {}
    for image in [*IMAGES.values(), BACKUP_IMAGE, GATEWAY_IMAGE]:
        result = podman("image", "inspect", "--format", "{{.Size}}", image)
        assert result.returncode == 0, result.stderr
        sizes[image] = int(result.stdout)
    announce(request, "\n".join(f"image {image}: {size / 1e6:.0f} MB" for image, size in sizes.items()))
    return sizes


def announce(request: pytest.FixtureRequest, text: str) -> None:
    """Printed in every run, not only when a test fails."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    assert capture is not None
    with capture.global_and_fixture_disabled():
        print("\n" + text)


def test_images_carry_ci_tags_health_checks_and_no_build_tools(images: dict[str, int]) -> None:
    for service, image in IMAGES.items():
        ci_name = f"{CI_REGISTRY}/{service}-service:latest"
        assert podman("image", "exists", ci_name).returncode == 0, f"{ci_name} is not tagged"
        inspect = json.loads(podman("image", "inspect", image).stdout)[0]
        # podman keeps HEALTHCHECK only in Docker's image format (--format docker).
        assert inspect["Healthcheck"]["Test"] == ["CMD", "python", "/app/healthcheck.py"], image
        assert inspect["Config"]["User"] == "10001:10001"
    assert podman("image", "exists", f"{CI_REGISTRY}/backup:latest").returncode == 0
    assert podman("image", "exists", f"{CI_REGISTRY}/gateway:latest").returncode == 0
    gateway = json.loads(podman("image", "inspect", GATEWAY_IMAGE).stdout)[0]
    assert (
        gateway["Healthcheck"]["Test"][:3] == ["CMD", "/bin/sh", "-c"]
        and "/healthz" in gateway["Healthcheck"]["Test"][3]
    )
    assert gateway["Config"]["User"] == "101:101"
    # NGINX and the built app only: the web build's Node.js, npm and node_modules stayed in their stage.
    probe = "command -v node npm npx; ls -d /web /srv/meeting-rooms/web/node_modules 2>/dev/null; true"
    found = podman("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", GATEWAY_IMAGE, "-c", probe)
    assert found.returncode == 0 and found.stdout.strip() == "", found.stdout + found.stderr
    assert images[GATEWAY_IMAGE] < 150e6, f"{GATEWAY_IMAGE}: {images[GATEWAY_IMAGE] / 1e6:.0f} MB"
    # No installer, no test runner and no test helper (servicekit's test kit is a package of its own).
    probe = (
        "import importlib.util as u\n"
        "def has(name):\n"
        "    try:\n"
        "        return u.find_spec(name) is not None\n"
        "    except ModuleNotFoundError:\n"
        "        return False\n"
        "print([m for m in ('pip', 'setuptools', 'pytest', 'servicekit_testing', 'servicekit.testing',"
        " 'servicekit.pytest_plugin') if has(m)])"
    )
    for image in [*IMAGES.values(), BACKUP_IMAGE]:
        found = podman("run", "--rm", "--network", "none", "--entrypoint", "/opt/venv/bin/python", image, "-c", probe)
        assert found.returncode == 0 and found.stdout.strip() == "[]", f"{image}: {found.stdout}{found.stderr}"
        assert images[image] < 300e6, f"{image}: {images[image] / 1e6:.0f} MB"


@pytest.fixture(scope="module")
def image_stack(images: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Containers]]:
    """Migrate, then web, relay and consumer of each service as containers; the gateway image in front, with
    its configuration rendered from the chart's template as docker compose does (scripts/render_gateway.py)
    and mounted read-only where the chart mounts its ConfigMap."""
    log_dir = tmp_path_factory.mktemp("image-stack")
    config = system_stack_config(log_dir)
    config.web_concurrency = 1  # one worker each: seven containers start at once on a small machine
    stack = Stack(config, log_dir)
    containers = Containers(log_dir)
    try:
        for service in SERVICES:
            ensure_database(config.database_url(service))
        with ThreadPoolExecutor(max_workers=8) as pool:  # podman starts containers one by one: in parallel
            migrations = [
                pool.submit(
                    containers.run,
                    f"{s}-migrate",
                    IMAGES[s],
                    ["migrate"],
                    config.service_env(s, "migrate"),
                    detach=False,
                )
                for s in SERVICES
            ]
            for migrate in migrations:
                assert migrate.result().returncode == 0, migrate.result().stdout + migrate.result().stderr
            processes = [
                pool.submit(containers.run, f"{s}-{role}", IMAGES[s], [role], config.service_env(s, role))
                for s in SERVICES
                for role in ROLES[s]
            ]
            for started in processes:
                assert started.result().returncode == 0, started.result().stderr
        for service in SERVICES:
            wait_for(f"{stack.web(service)}/readyz", containers, f"{service}-web")
            for role in ROLES[service][1:]:
                wait_for(f"{stack.health(f'{service}-{role}')}/healthz", containers, f"{service}-{role}")
        run_gateway(config, containers, log_dir)
        yield stack, containers
    finally:
        stack.stop_all()
        containers.remove_all()
        stack.drop_databases()
    # As for the stack of the system suite: every line JSON with our fields, and no credential in any of them.
    problems = problems_in(log_dir)
    assert not problems, "\n".join(problems[:40])


def run_gateway(config: StackConfig, containers: Containers, log_dir: Path) -> None:
    conf = log_dir / "gateway-nginx.conf"
    upstreams = {name: f"127.0.0.1:{config.web_ports[name]}" for name in SERVICES}
    rendered = subprocess.run(
        [
            *(str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "scripts" / "render_gateway.py")),
            *("--out", str(conf), "--listen-port", str(config.gateway_port)),
            *("--user", upstreams["user"], "--room", upstreams["room"], "--reservation", upstreams["reservation"]),
            *("--run-dir", "/tmp", "--auth-rate", config.extra_env["GATEWAY_AUTH_RATE"]),  # noqa: S108
            *("--auth-burst", config.extra_env["GATEWAY_AUTH_BURST"]),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    assert f"root {STATIC_ROOT};" in conf.read_text()  # the template's default: the image's app
    mount = ["--volume", f"{conf}:/etc/nginx/gateway/nginx.conf:ro"]
    # LISTEN_PORT only for the image's HEALTHCHECK (the configuration says where NGINX listens).
    env = {"LISTEN_PORT": str(config.gateway_port)}
    started = containers.run("gateway", GATEWAY_IMAGE, [], env, user="101:101", log_as="gateway.log", extra=mount)
    assert started.returncode == 0, started.stderr
    wait_for(f"http://127.0.0.1:{config.gateway_port}/healthz", containers, "gateway")


@pytest.fixture(scope="module")
def admin(image_stack: tuple[Stack, Containers]) -> dict[str, str]:
    """An admin token from the operators' CLI (`flask users token`), run in the user service's image."""
    stack, containers = image_stack
    cli = ["-m", "flask", "--app", "user_service", "users", "token", "admin@example.com", "--role", "admin"]
    env = stack.config.service_env("user", "migrate")
    extra = ["--entrypoint", "python"]
    result = containers.run("user-token", IMAGES["user"], cli, env, detach=False, service_log=False, extra=extra)
    assert result.returncode == 0, result.stdout + result.stderr
    return {"Authorization": f"Bearer {result.stdout.strip()}"}


def slot(hours: int) -> tuple[str, str]:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    return start.isoformat(), (start + timedelta(hours=hours)).isoformat()


def book(gateway: str, headers: dict[str, str], room_id: int, hours: int) -> requests.Response:
    start, end = slot(hours)
    body = {"room_id": room_id, "start_time": start, "end_time": end, "purpose": "Images"}
    return requests.post(f"{gateway}/reservations", json=body, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def booking(image_stack: tuple[Stack, Containers], admin: dict[str, str]) -> dict[str, Any]:
    """A room made through the gateway, booked once its room_created event reached the reservation service."""
    gateway = image_stack[0].gateway
    room = requests.post(f"{gateway}/rooms", json={"name": "Image Room", "capacity": 4}, headers=admin, timeout=10)
    assert room.status_code == 201, room.text
    deadline = time.monotonic() + DEADLINE_S
    while True:  # the room travels room-service -> outbox -> relay -> Kafka -> consumer
        response = book(gateway, admin, room.json()["id"], 1)
        if response.status_code != 422 or not response.json()["type"].endswith("/unknown-room"):
            break
        assert time.monotonic() < deadline, "the room never reached the reservation service"
        time.sleep(0.2)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_room_event_booking_and_conflict_through_the_gateway(
    image_stack: tuple[Stack, Containers], admin: dict[str, str], booking: dict[str, Any]
) -> None:
    conflict = book(image_stack[0].gateway, admin, booking["room_id"], 2)
    assert conflict.status_code == 409, conflict.text
    assert [item["id"] for item in conflict.json()["conflicts"]] == [booking["id"]]


def test_every_container_passes_its_healthcheck(image_stack: tuple[Stack, Containers]) -> None:
    _, containers = image_stack
    for service in SERVICES:
        for role in ROLES[service]:
            result = containers.healthcheck(f"{service}-{role}")
            assert result.returncode == 0, f"{service}-{role}: {result.stdout}{result.stderr}"
    result = containers.healthcheck("gateway")
    assert result.returncode == 0, f"gateway: {result.stdout}{result.stderr}"
    # It can fail: a worker whose health port answers nothing is unhealthy.
    name = "reservation-consumer"
    broken = podman("exec", "--env", "HEALTH_PORT=1", f"{containers.prefix}-{name}", "python", "/app/healthcheck.py")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    # ... and so is a gateway whose port answers nothing (the image's own check, run by hand).
    check = json.loads(podman("image", "inspect", GATEWAY_IMAGE).stdout)[0]["Healthcheck"]["Test"][3]
    broken = podman("exec", "--env", "LISTEN_PORT=1", f"{containers.prefix}-gateway", "/bin/sh", "-c", check)
    assert broken.returncode == 1, broken.stdout + broken.stderr


def test_backup_image_backs_up_and_restores_through_s3(
    image_stack: tuple[Stack, Containers], booking: dict[str, Any]
) -> None:
    stack, containers = image_stack
    restored = stack.config.database_url("reservation") + "_restored"
    with moto_server() as endpoint:
        bucket = unique_name("images").replace("_", "-")
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(s3={"addressing_style": "path"}),
        )
        s3.create_bucket(Bucket=bucket)
        env = {f"{service.upper()}_DATABASE_URL": stack.config.database_url(service) for service in SERVICES}
        env |= {
            "KAFKA_BOOTSTRAP_SERVERS": stack.config.kafka(),
            "KAFKA_TOPIC_PREFIX": stack.config.topic_prefix,
            "S3_ENDPOINT_URL": endpoint,
            "S3_BUCKET_NAME": bucket,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        # Local copies in a tmpfs, as the chart's emptyDir: the restore below can only come from S3.
        backups = ["--tmpfs", "/backups:rw,mode=1777"]
        backup = containers.run(
            "backup", BACKUP_IMAGE, [], env, user="999", detach=False, service_log=False, extra=backups
        )
        assert backup.returncode == 0, backup.stdout + backup.stderr
        keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        assert any("reservation_db_" in key for key in keys), keys
        try:
            restore = containers.run(
                "restore",
                BACKUP_IMAGE,
                ["/app/restore.sh", "--from-s3", "reservation_db"],
                {**env, "RESERVATION_DATABASE_URL": restored},
                user="999",
                detach=False,
                service_log=False,
                extra=backups,
            )
            assert restore.returncode == 0, restore.stdout + restore.stderr
            connection = psycopg2.connect(restored)
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT room_id, status FROM reservations WHERE id = %s", (booking["id"],))
                    assert cursor.fetchone() == (booking["room_id"], "confirmed")
            finally:
                connection.close()
        finally:
            drop_database(restored)
            drop_database(f"{restored}__restore")


def test_the_gateway_image_serves_the_web_app(
    image_stack: tuple[Stack, Containers], request: pytest.FixtureRequest
) -> None:
    """The app's page at / and at every client-side route, its hashed assets with their types: the files the
    image's first stage built, the same bundle web/dist holds (same sources and lockfile, same hashed names)."""
    gateway = image_stack[0].gateway
    page = requests.get(f"{gateway}/", timeout=10)
    assert page.status_code == 200, page.text
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert (
        page.headers["Cache-Control"] == "no-cache" and "default-src 'self'" in page.headers["Content-Security-Policy"]
    )
    assert '<div id="app">' in page.text
    assert page.text == (ROOT / "web" / "dist" / "index.html").read_text()
    for route in ("/app/anything", "/app/day?date=2030-01-02", "/app/admin/rooms"):
        fallback = requests.get(f"{gateway}{route}", timeout=10)
        assert fallback.status_code == 200 and fallback.text == page.text, route
        assert fallback.headers["Content-Type"] == "text/html; charset=utf-8", route
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text)
    kinds = {"js": "text/javascript", "css": "text/css"}
    assert sorted({name.rsplit(".", 1)[1] for name in assets}) == ["css", "js"], assets
    script_bytes = 0
    for name in assets:
        asset = requests.get(f"{gateway}{name}", timeout=10)
        assert asset.status_code == 200, name
        assert asset.headers["Content-Type"] == f"{kinds[name.rsplit('.', 1)[1]]}; charset=utf-8", name
        assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert asset.content == (ROOT / "web" / "dist" / name.lstrip("/")).read_bytes(), name
        if name.endswith(".js"):
            script_bytes += len(gzip.compress(asset.content, compresslevel=9))
    # The budget: at most 200 KB of gzipped JavaScript.
    announce(
        request, f"web app bundle (as the gateway image serves it): {script_bytes / 1000:.1f} KB of gzipped JavaScript"
    )
    assert script_bytes <= 200_000
    # Anything else stays the gateway's 404 problem, also inside the app's folders.
    for path in ("/assets/missing.js", "/index.html", "/appx"):
        missing = requests.get(f"{gateway}{path}", timeout=10)
        assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json", path


def test_backup_image_runs_the_cloudwatch_setup_as_the_chart_job_does(image_stack: tuple[Stack, Containers]) -> None:
    """The chart's setup Job runs scripts/monitoring/cloudwatch_setup.py from the backup image (the script is
    not copied into the chart): the same command, user and read-only root, against moto instead of AWS."""
    _, containers = image_stack
    environment = unique_name("images").replace("_", "-")
    command = [
        *("/opt/venv/bin/python", "-m", "scripts.monitoring.cloudwatch_setup", f"--environment={environment}"),
        *("--log-group=meeting-room-reservation-system", "--region=us-east-1", "--retention-days=7"),
        "--alarm-email=ops@example.com",
    ]
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "PYTHONDONTWRITEBYTECODE": "1"}
    with moto_server() as endpoint:
        runs = [
            containers.run(
                f"cloudwatch-setup-{n}",
                BACKUP_IMAGE,
                [*command, f"--endpoint-url={endpoint}"],
                env,
                user="999",
                detach=False,
                service_log=False,
                extra=["--workdir", "/app"],  # the Job's workingDir; the image's ENTRYPOINT is empty
            )
            for n in (1, 2)
        ]
        logs = boto3.client(
            "logs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
        )
        groups = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    first, second = runs
    assert first.returncode == 0, first.stdout + first.stderr
    assert "log group" in first.stdout, first.stdout
    assert groups == [f"meeting-room-reservation-system/{environment}"]
    assert second.returncode == 0 and "log group" not in second.stdout, second.stdout + second.stderr
