"""docker-compose.yml: valid against the Compose specification, and wired the way the stack needs.

No Docker engine runs here, so the file is checked, not started: the schema (check-jsonschema's vendored
compose-spec), then the start-up order, health checks, hardening and the files it mounts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
SERVICES = {"user": 5000, "room": 5001, "reservation": 5002}
MONITORING = {"loki", "alloy", "grafana"}


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def services() -> dict[str, dict[str, Any]]:
    return dict(compose()["services"])


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    assert tool, "check-jsonschema is missing: it comes with requirements-dev.txt"
    command = [tool, "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_compose_file_matches_the_compose_specification() -> None:
    result = check_jsonschema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_specification_check_would_catch_a_mistake(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("    healthcheck:\n", "    healthchek:\n", 1))
    assert check_jsonschema(broken).returncode != 0


def test_every_dependency_exists_and_waits_for_a_condition() -> None:
    every = services()
    for name, service in every.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in every, f"{name} depends on unknown {dependency}"
            assert rule["condition"] in {"service_healthy", "service_completed_successfully", "service_started"}
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in every[dependency] or "build" in every[dependency], dependency


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_migrates_once_before_its_processes_start(service: str) -> None:
    every = services()
    migrate = every[f"{service}-migrate"]
    assert migrate["command"] == ["migrate"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    processes = [f"{service}-service", f"{service}-relay"] + (
        ["reservation-consumer"] if service == "reservation" else []
    )
    for name in processes:
        rule = every[name]["depends_on"][f"{service}-migrate"]
        assert rule["condition"] == "service_completed_successfully", name
        database = every[name]["environment"]["DATABASE_URL"].rsplit("/", 1)[1]
        assert database == f"{service}_db"
    web = every[f"{service}-service"]
    assert web["environment"]["PORT"] == str(SERVICES[service])
    assert web["build"] == {"context": ".", "dockerfile": f"{service}-service/Dockerfile"}


def test_gateway_starts_after_healthy_services_on_8080_from_the_shared_template() -> None:
    every = services()
    gateway = every["gateway"]
    assert gateway["ports"] == ["${GATEWAY_PORT:-8080}:8080"]
    for service in SERVICES:
        assert gateway["depends_on"][f"{service}-service"]["condition"] == "service_healthy"
    assert gateway["depends_on"]["gateway-config"]["condition"] == "service_completed_successfully"
    command = " ".join(every["gateway-config"]["command"])
    for service, port in SERVICES.items():
        assert f"--{service} {service}-service:{port}" in command
    mounts = every["gateway-config"]["volumes"]
    assert "./helm/files/nginx.conf:/src/helm/files/nginx.conf:ro" in mounts
    assert "./scripts/render_gateway.py:/src/scripts/render_gateway.py:ro" in mounts


def test_relays_and_consumer_wait_for_a_healthy_kafka_in_kraft_mode() -> None:
    every = services()
    for name in ("user-relay", "room-relay", "reservation-relay", "reservation-consumer"):
        assert every[name]["depends_on"]["kafka"]["condition"] == "service_healthy"
    kafka = every["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert not any(key.startswith("KAFKA_ZOOKEEPER") for key in kafka["environment"])


def test_postgres_init_script_creates_every_service_database() -> None:
    postgres = services()["postgres"]
    (init,) = [v for v in postgres["volumes"] if "docker-entrypoint-initdb.d" in v]
    sql = (ROOT / init.split(":")[0]).read_text()
    assert set(re.findall(r"CREATE DATABASE (\w+);", sql)) == {f"{s}_db" for s in SERVICES}


def test_images_are_pinned_and_our_containers_are_hardened() -> None:
    for name, service in services().items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), name
        if "build" in service or name == "gateway" or name == "gateway-config":
            assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
            assert "no-new-privileges:true" in service["security_opt"], name


def test_mounted_files_exist() -> None:
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_monitoring_runs_only_in_its_profile() -> None:
    for name, service in services().items():
        assert (service.get("profiles") == ["monitoring"]) == (name in MONITORING), name
