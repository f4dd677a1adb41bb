"""SonarQube's side: the scan script, the project settings, the local server's compose file; and the
deploy job's secret values and the pre-commit hooks."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.stack import ROOT

VENV_BIN = Path(sys.executable).parent
SCAN = ROOT / "run-sonar-scan.sh"
COMPOSE = ROOT / "sonarqube" / "docker-compose.yml"
SCRIPTS = ROOT / "scripts" / "quality"


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    "script", ["run-sonar-scan.sh", "scripts/quality/audit.sh", "scripts/quality/install-tools.sh"]
)
def test_shellcheck_finds_nothing(script: str) -> None:
    result = run([str(VENV_BIN / "shellcheck"), "-x", script])
    assert result.returncode == 0, result.stdout + result.stderr


def test_scan_script_explains_itself() -> None:
    result = run(["bash", str(SCAN), "--help"])
    assert result.returncode == 0
    for option in ("--with-tests", "--report-only", "SONAR_TOKEN=your_token ./run-sonar-scan.sh", "SONAR_HOST_URL"):
        assert option in result.stdout
    wrong = run(["bash", str(SCAN), "--no-such-option"])
    assert wrong.returncode == 1 and "see --help" in wrong.stderr


def test_scan_against_an_unreachable_server_fails_with_hints(tmp_path: Path) -> None:
    # A copy without reports, and a remote URL: nothing to merge, no local server started, no host
    # setting touched.
    shutil.copy2(SCAN, tmp_path / SCAN.name)
    result = run(
        ["bash", str(tmp_path / SCAN.name)], SONAR_HOST_URL="http://sonarqube.invalid:9000", SONAR_TOKEN="unused"
    )
    assert result.returncode == 1
    assert "no test reports" in result.stderr
    assert "does not answer UP" in result.stderr
    assert "troubleshooting (server failed)" in result.stderr
    assert "vm.max_map_count" in result.stderr


def properties() -> dict[str, str]:
    found = {}
    for line in (ROOT / "sonar-project.properties").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
    return found


def test_sonar_project_settings_fit_the_layout() -> None:
    settings = properties()
    assert settings["sonar.projectKey"] == "meeting-room-reservation-system"
    sources = settings["sonar.sources"].split(",")
    assert sources == ["user-service", "room-service", "reservation-service", "libs/servicekit"]
    for folder in sources + settings["sonar.tests"].split(","):
        assert (ROOT / folder).is_dir(), folder
    assert settings["sonar.python.coverage.reportPaths"] == "coverage.xml"
    assert settings["sonar.python.xunit.reportPath"] == "test-results.xml"
    exclusions = settings["sonar.exclusions"].split(",")
    for pattern in ("**/tests/**", "**/__pycache__/**", "**/build/**"):
        assert pattern in exclusions


def test_sonarqube_compose_file_follows_the_compose_specification() -> None:
    # The schema ships inside check-jsonschema: no network needed.
    result = run([str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_sonarqube_compose_file_has_its_database_volumes_and_limits() -> None:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    server, database = doc["services"]["sonarqube"], doc["services"]["sonarqube-db"]
    assert server["image"].startswith("sonarqube:") and server["image"].endswith("-community")
    assert server["image"].split(":")[1][0].isdigit()  # a pinned version, not `latest`
    assert database["image"].startswith("postgres:")
    assert server["environment"]["SONAR_JDBC_URL"] == "jdbc:postgresql://sonarqube-db:5432/sonar"
    assert server["depends_on"]["sonarqube-db"]["condition"] == "service_healthy"
    assert "healthcheck" in database
    named = set(doc["volumes"])
    mounted = [volume.split(":")[0] for service in (server, database) for volume in service["volumes"]]
    assert mounted and set(mounted) <= named  # named volumes, no bind mounts
    assert server["ulimits"]["nofile"] == {"soft": 131072, "hard": 131072}
    assert server["ulimits"]["nproc"] >= 8192
    text = COMPOSE.read_text(encoding="utf-8")
    assert "vm.max_map_count" in text and "fs.file-max" in text  # the host settings Elasticsearch needs


DEPLOY_SECRETS = (
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "JWT_SIGNING_KEY",
    "JWT_PREVIOUS_PUBLIC_KEYS",
    "GRAFANA_ADMIN_PASSWORD",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)


def deploy_values(what: str, **env: str) -> Any:
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "deploy_values.py"), what, "--release", "mrs", "--namespace", "staging"],
        env={**{k: v for k, v in os.environ.items() if k not in DEPLOY_SECRETS}, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout) if result.stdout else None


def test_deploy_values_carry_each_secret_and_leave_out_unset_ones() -> None:
    key = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
    values = deploy_values("values", GOOGLE_CLIENT_ID="id", GOOGLE_CLIENT_SECRET="", JWT_SIGNING_KEY=key)
    assert values == {"googleOAuth": {"clientId": "id"}, "secrets": {"jwtSigningKey": key}}
    assert deploy_values("aws-secret", AWS_ACCESS_KEY_ID="only-one") is None


def test_aws_keys_travel_in_a_secret_the_values_name() -> None:
    aws = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_REGION": "eu-west-1"}
    values = deploy_values("values", **aws)
    secret = deploy_values("aws-secret", **aws)
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == "mrs-aws"
    assert secret["metadata"]["namespace"] == "staging"
    decoded = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    for user in (values["monitoring"]["cloudwatch"], values["backup"]["s3"]):
        assert user["region"] == "eu-west-1" and user["existingSecret"] == "mrs-aws"
        assert decoded == {
            user["secretKeys"]["accessKeyId"]: "AKIAEXAMPLE",
            user["secretKeys"]["secretAccessKey"]: "s3cr3t",
        }
    assert "AKIAEXAMPLE" not in json.dumps(values)  # keys never in the values


def value_paths(node: dict[str, Any], prefix: str = "") -> set[str]:
    found = set()
    for key, value in node.items():
        found |= value_paths(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}"}
    return found


def test_deploy_values_name_keys_the_chart_reads() -> None:
    chart: dict[str, Any] = yaml.safe_load((ROOT / "helm" / "values.yaml").read_text(encoding="utf-8"))
    produced = value_paths(deploy_values("values", **dict.fromkeys(DEPLOY_SECRETS, "x")))
    assert produced <= value_paths(chart), produced - value_paths(chart)
    assert {"imageTag", "image.registry"} <= value_paths(chart)  # set by the deploy job with --set-string


def test_pre_commit_configuration_is_valid_and_runs_make_lint() -> None:
    config = ROOT / ".pre-commit-config.yaml"
    result = run([str(VENV_BIN / "pre-commit"), "validate-config", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = {
        hook["id"]: hook
        for repo in yaml.safe_load(config.read_text(encoding="utf-8"))["repos"]
        for hook in repo["hooks"]
    }
    assert hooks["lint"]["entry"] == "scripts/test.sh lint"  # the same ruff and mypy as make test
    assert {"duplicates", "shellcheck", "workflow-schema", "actionlint", "compose-schema"} <= set(hooks)
