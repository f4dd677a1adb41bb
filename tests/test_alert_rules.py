"""The Prometheus alert rules (helm/files/prometheus/alerts.yaml) under promtool, Debian's `prometheus` package.

tests/prometheus/*-test.yaml feed each alert series that show its failure and then the recovery (the backup and
drill alerts in a file evaluated hourly, so days of series stay cheap); every alert must be seen firing and
cleared there, and every metric a rule reads must be one our code exports.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "helm" / "files" / "prometheus" / "alerts.yaml"
TESTS = sorted((ROOT / "tests" / "prometheus").glob("*-test.yaml"))
# Where each exported metric is defined: servicekit (web, relay, consumer) and the backup's report.
SOURCES = [*(ROOT / "libs" / "servicekit" / "servicekit").glob("*.py"), ROOT / "scripts" / "backup" / "report.py"]


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool missing: scripts/bootstrap.sh installs Debian's prometheus package"
    return found


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def alerts() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_the_rules_are_valid_and_pass_their_unit_tests() -> None:
    checked = run("check", "rules", str(RULES), cwd=ROOT)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert len(TESTS) == 2
    tested = run("test", "rules", *(path.name for path in TESTS), cwd=TESTS[0].parent)
    assert tested.returncode == 0 and tested.stdout.count("SUCCESS") == len(TESTS), tested.stdout + tested.stderr


def test_every_alert_is_seen_firing_and_clearing() -> None:
    seen: dict[str, set[str]] = {}
    cases = [case for path in TESTS for case in yaml.safe_load(path.read_text())["tests"]]
    for case in cases:
        for check in case["alert_rule_test"]:
            seen.setdefault(check["alertname"], set()).add("fires" if check["exp_alerts"] else "clears")
    names = {rule["alert"] for rule in alerts()}
    assert {name for name in names if seen.get(name) != {"fires", "clears"}} == set()
    assert set(seen) <= names


def test_every_metric_a_rule_reads_is_exported_by_our_code() -> None:
    code = "\n".join(path.read_text() for path in SOURCES)
    for rule in alerts():
        for metric in set(re.findall(r"\b([a-z][a-z0-9]*_[a-z0-9_]+)\b(?!\s*\()", rule["expr"])):
            name = metric.removesuffix("_bucket")  # a histogram's series
            pushed = re.match(r"(backup|restore_drill)(_last_\w+)$", name)  # report.py: f"{prefix}_last_..."
            assert f'"{name}"' in code or (pushed and f"{{prefix}}{pushed.group(2)}" in code), (
                f"{rule['alert']}: {name}"
            )


def test_promtool_catches_an_alert_that_no_longer_fires(tmp_path: Path) -> None:
    """The same tests against rules whose threshold moved: promtool must fail them."""
    broken = RULES.read_text().replace(
        "outbox_oldest_pending_age_seconds) > 300", "outbox_oldest_pending_age_seconds) > 3000"
    )
    assert broken != RULES.read_text()
    (tmp_path / "alerts.yaml").write_text(broken)
    tests = (TESTS[0].parent / "alerts-test.yaml").read_text()
    (tmp_path / "alerts-test.yaml").write_text(tests.replace("../../helm/files/prometheus/alerts.yaml", "alerts.yaml"))
    result = run("test", "rules", "alerts-test.yaml", cwd=tmp_path)
    assert result.returncode != 0 and "OutboxNotDraining" in result.stdout + result.stderr


@pytest.mark.parametrize("alert", [rule["alert"] for rule in alerts()])
def test_every_alert_says_what_broke_and_how_bad(alert: str) -> None:
    (rule,) = [r for r in alerts() if r["alert"] == alert]
    assert rule["labels"]["severity"] in {"critical", "warning"} and rule["labels"]["system"] == "meeting-room-system"
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]
