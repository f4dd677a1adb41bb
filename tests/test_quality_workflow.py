"""The CI/CD workflow: valid for GitHub (actionlint, or at least the workflow schema), and it has the
stages, triggers, secrets and tags the README promises."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.stack import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "cicd.yml"
VENV_BIN = Path(sys.executable).parent
SERVICES = ("user-service", "room-service", "reservation-service")


def load() -> dict[str, Any]:
    doc = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as true.
    doc["on"] = doc.pop(True, doc.get("on"))
    return dict(doc)


def steps_text(job: dict[str, Any]) -> str:
    return str(yaml.safe_dump(job.get("steps", []), width=1000))


def actionlint() -> str | None:
    built = ROOT / ".cache" / "tools" / "actionlint"
    return str(built) if built.exists() else shutil.which("actionlint")


def test_actionlint_finds_nothing() -> None:
    binary = actionlint()
    if binary is None:
        pytest.skip("actionlint not built: scripts/quality/install-tools.sh (needs Go); the schema test still runs")
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [binary, "-no-color", "-shellcheck", str(VENV_BIN / "shellcheck"), str(WORKFLOW)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"])
def test_workflow_matches_github_schema(schema: str) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", schema, str(WORKFLOW)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_triggers_and_the_environment_choice() -> None:
    on = load()["on"]
    assert on["push"]["branches"] == ["main"]
    assert on["pull_request"]["branches"] == ["main"]
    environment = on["workflow_dispatch"]["inputs"]["environment"]
    assert environment["type"] == "choice" and environment["required"] is True
    assert environment["options"] == ["development", "staging", "production"]
    assert environment["default"] == "development"


def test_least_privilege_and_one_run_per_ref() -> None:
    doc = load()
    assert doc["permissions"] == {}
    for name, job in doc["jobs"].items():
        assert set(job["permissions"]) <= {"contents"}, name
        assert job["permissions"].get("contents", "read") == "read", name
    assert "github.ref" in doc["concurrency"]["group"]
    deploy = doc["jobs"]["deploy"]
    assert deploy["concurrency"]["cancel-in-progress"] is False


def test_every_action_is_pinned_to_a_commit_with_its_version_in_a_comment() -> None:
    """`uses: owner/repo@<40-hex commit> # vX.Y.Z`: a tag can be moved, a commit cannot."""
    lines = [line.strip() for line in WORKFLOW.read_text(encoding="utf-8").splitlines() if "uses:" in line]
    assert len(lines) >= 10
    for line in lines:
        assert re.fullmatch(r"(- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", line), line
    # One action, one pin: the same action is never pinned to two commits or two versions.
    pins: dict[str, str] = {}
    for line in lines:
        action, _, pin = line.split("uses: ", 1)[1].partition("@")
        assert pins.setdefault(action.lower(), pin) == pin, line


def test_pin_check_would_catch_a_tag() -> None:
    pattern = r"(- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+"
    assert not re.fullmatch(pattern, "uses: actions/checkout@v6")
    assert not re.fullmatch(pattern, "uses: actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803")


def test_stages_run_in_order() -> None:
    jobs = load()["jobs"]
    assert set(jobs) == {"test", "sonar", "version", "install", "build", "deploy"}
    assert jobs["sonar"]["needs"] == "test"
    assert {"test", "sonar", "install"} <= set(jobs["build"]["needs"])
    assert "build" in jobs["deploy"]["needs"]


def test_tests_run_make_test_against_official_service_images() -> None:
    job = load()["jobs"]["test"]
    services = job["services"]
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["kafka"]["image"].startswith("apache/kafka:")
    kafka_env = services["kafka"]["env"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert kafka_env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://127.0.0.1:9092"
    assert "9092:9092" in services["kafka"]["ports"] and "5432:5432" in services["postgres"]["ports"]
    assert job["env"]["TEST_POSTGRES_URL"].startswith("postgresql://postgres:postgres@127.0.0.1:5432/")
    assert job["env"]["TEST_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"
    steps = job["steps"]
    assert any(s.get("uses", "").startswith("actions/setup-python@") for s in steps)
    # The virtualenv is installed by uv (scripts/bootstrap.sh), from the packages it keeps in .cache/uv.
    caches = [s["with"] for s in steps if s.get("uses", "").startswith("actions/cache@")]
    assert any(cache["path"] == ".cache/uv" and "requirements-dev.txt" in cache["key"] for cache in caches)
    runs = [s.get("run", "") for s in steps]
    assert "make test" in runs
    audit = next(i for i, run in enumerate(runs) if "audit.sh" in run)
    assert audit > runs.index("make test")  # its own step, after the tests
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    for path in ("coverage.xml", "test-results.xml", ".dev/reports/"):
        assert path in upload["with"]["path"]
    assert upload["with"]["include-hidden-files"] is True  # .coverage.<suite> files


def test_sonar_uses_its_secrets_and_enforces_the_quality_gate() -> None:
    job = load()["jobs"]["sonar"]
    assert job["env"] == {
        "SONAR_TOKEN": "${{ secrets.SONAR_TOKEN }}",
        "SONAR_ORGANIZATION": "${{ secrets.SONAR_ORGANIZATION }}",
    }
    scan = next(s for s in job["steps"] if s.get("uses", "").startswith("SonarSource/sonarqube-scan-action@"))
    assert "-Dsonar.qualitygate.wait=true" in scan["with"]["args"]
    assert "-Dsonar.organization=" in scan["with"]["args"]
    download = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["name"] == "test-reports"


def test_build_makes_one_image_per_service_with_three_tags() -> None:
    doc = load()
    job = doc["jobs"]["build"]
    images = {entry["image"]: entry["dockerfile"] for entry in job["strategy"]["matrix"]["include"]}
    assert images == {
        **{service: f"{service}/Dockerfile" for service in SERVICES},
        "backup": "scripts/backup/Dockerfile",
        "gateway": "docker/gateway/Dockerfile",
    }
    for dockerfile in images.values():
        assert (ROOT / dockerfile).is_file(), dockerfile
    text = steps_text(job)
    assert "docker/setup-buildx-action@" in text
    assert "secrets.DOCKER_HUB_USERNAME" in text and "secrets.DOCKER_HUB_TOKEN" in text
    build = next(s for s in job["steps"] if s.get("uses", "").startswith("docker/build-push-action@"))
    assert build["with"]["context"] == "."
    assert build["with"]["file"] == "${{ matrix.dockerfile }}"
    image = "${{ env.IMAGE_REGISTRY }}/${{ matrix.image }}"
    assert build["with"]["tags"].splitlines() == [
        f"{image}:latest",
        f"{image}:${{{{ needs.version.outputs.stamp }}}}",
        f"{image}:${{{{ needs.version.outputs.sha }}}}",
    ]
    assert build["with"]["push"] == "${{ env.PUBLISH == 'true' }}"
    publish = doc["env"]["PUBLISH"]
    assert "workflow_dispatch" in publish and "refs/heads/main" in publish and "pull_request" not in publish
    assert "+%Y%m%d-%H%M" in steps_text(doc["jobs"]["version"])


def test_deploy_installs_the_chart_with_the_sha_and_the_secrets() -> None:
    job = load()["jobs"]["deploy"]
    assert "refs/heads/main" in job["if"] and "workflow_dispatch" in job["if"]
    assert "inputs.environment" in job["environment"]["name"]
    text = steps_text(job)
    assert "azure/setup-helm@" in text and "azure/setup-kubectl@" in text
    assert "secrets.KUBECONFIG" in text and "base64 --decode" in text
    assert "kubectl create namespace" in text
    helm = next(s["run"] for s in job["steps"] if "helm upgrade --install" in s.get("run", ""))
    assert re.search(r"helm upgrade --install \"\$\{RELEASE\}\" \./helm", helm)
    assert job["env"]["IMAGE_TAG"] == "${{ needs.version.outputs.sha }}"
    for flag in ("--create-namespace", '--namespace "${K8S_NAMESPACE}"', 'imageTag="${IMAGE_TAG}"'):
        assert flag in helm
    assert '-f "helm/values-${TARGET}.yaml"' in helm
    for secret in (
        "GOOGLE_CLIENT_ID",
        "GOOGLE_CLIENT_SECRET",
        "JWT_SIGNING_KEY",
        "GRAFANA_ADMIN_PASSWORD",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ):
        assert f"secrets.{secret}" in text
    assert "deploy_values.py values" in text and "deploy_values.py aws-secret" in text
    assert "rollout status" in text and "get deployments" in text
    assert load()["env"]["RELEASE"] == "meeting-room-system"


def test_install_job_runs_the_chart_on_kind_with_images_built_here() -> None:
    doc = load()
    job = doc["jobs"]["install"]
    text = steps_text(job)
    kind = next(s for s in job["steps"] if s.get("uses", "").startswith("helm/kind-action@"))
    assert kind["with"]["node_image"] == "${{ env.KIND_NODE_IMAGE }}"
    assert kind["with"]["kubectl_version"] == "${{ env.KUBERNETES_VERSION }}"
    built = [s["with"]["file"] for s in job["steps"] if s.get("uses", "").startswith("docker/build-push-action@")]
    assert built == [*(f"{service}/Dockerfile" for service in SERVICES), "docker/gateway/Dockerfile"]
    assert "kind load docker-image" in text
    install = next(s["run"] for s in job["steps"] if "helm install" in s.get("run", ""))
    assert "-f helm/values-development.yaml" in install and "--wait" in install
    assert 'imageTag="${IMAGE_TAG}"' in install and 'image.registry="${IMAGE_REGISTRY}"' in install
    assert "/rooms" in text and "/reservations" in text and "409" in text
    assert "helm test" in text
    # The images the chart pulls by default are the ones the build job pushes (tests/test_deploy_chart.py).
    assert doc["env"]["IMAGE_REGISTRY"] == "docker.io/${{ vars.DOCKER_HUB_NAMESPACE || 'meetingroomsystem' }}"
