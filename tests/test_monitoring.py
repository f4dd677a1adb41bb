"""The dashboards and alert rules ask Loki only for what our processes really write and Alloy really parses.

Every LogQL query of helm/files/grafana (dashboards and alert rules) is taken apart: the stream labels of
its selectors, the labels it filters and groups on, the JSON fields it extracts. Each must be one the logs
of a real system run carry (the `stack` fixture's log files, after a few requests through the gateway) and
one that files/alloy/config.alloy turns into a label or structured metadata. Loki, Alloy and Grafana
themselves are not run here: their files are parsed and cross-checked.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from devstack.harness import Stack
from servicekit.logs import ContextFilter, json_formatter
from tests.logcheck import emitted_fields

ROOT = Path(__file__).resolve().parent.parent
GRAFANA = ROOT / "helm" / "files" / "grafana"
ALLOY = ROOT / "helm" / "files" / "alloy" / "config.alloy"
LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}  # Python's names; Alloy upper-cases the gateway's

# --- The queries --------------------------------------------------------------------------------


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted((GRAFANA / "dashboards").glob("*.json"))}


def alert_rules() -> list[dict[str, Any]]:
    provisioning = yaml.safe_load((GRAFANA / "alerting" / "rules.yaml").read_text())
    return [rule for group in provisioning["groups"] for rule in group["rules"]]


def queries() -> dict[str, str]:
    """Every LogQL expression, by where it is: panel targets, variable queries, alert rule queries."""
    found = {}
    for name, board in dashboards().items():
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                found[f"{name}: {panel['title']} {target['refId']}"] = target["expr"]
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                found[f"{name}: ${variable['name']}"] = variable["query"]
    for rule in alert_rules():
        for item in rule["data"]:
            if item["datasourceUid"] == "loki":
                found[f"rule {rule['uid']} {item['refId']}"] = item["model"]["expr"]
    return found


MATCHER = re.compile(r'([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
PIPELINE_FILTER = re.compile(r'\|\s*([A-Za-z_]\w*)\s*(=~|!~|!=|==|>=|<=|=|>|<)\s*("(?:[^"\\]|\\.)*"|[0-9.]+)')
PARSERS = {"json", "logfmt", "line_format", "label_format", "unwrap", "drop", "keep", "pattern", "regexp"}


@dataclass
class Usage:
    """What one LogQL expression refers to."""

    stream_labels: dict[str, set[str]] = field(default_factory=dict)  # label -> literal values matched
    filtered: dict[str, set[str]] = field(default_factory=dict)  # pipeline label filters -> literal values
    json_fields: dict[str, str] = field(default_factory=dict)  # extracted label -> JSON field
    grouped: set[str] = field(default_factory=set)  # by (...), unwrap, line_format {{.x}}
    whole_line_json: bool = False


def usage(expr: str) -> Usage:
    result = Usage()
    formats = re.findall(r'line_format\s+"((?:[^"\\]|\\.)*)"', expr)
    result.grouped |= {name for text in formats for name in re.findall(r"\{\{\s*\.(\w+)\s*\}\}", text)}
    expr = re.sub(r'line_format\s+"(?:[^"\\]|\\.)*"', "line_format", expr)
    for variable in re.finditer(r"label_values\((?:(\{[^{}]*\})\s*,\s*)?(\w+)\)", expr):
        result.stream_labels.setdefault(variable.group(2), set())
    for selector in re.findall(r"\{([^{}]*)\}", expr):
        for name, _, value in MATCHER.findall(selector):
            result.stream_labels.setdefault(name, set()).update(literals(value))
    for params in re.findall(r'\|\s*json((?:\s*,?\s*\w+\s*=\s*"[^"]*")*)', expr):
        pairs = re.findall(r'(\w+)\s*=\s*"([^"]*)"', params)
        result.json_fields.update(pairs)
        result.whole_line_json |= not pairs
    for name, _, value in PIPELINE_FILTER.findall(expr):
        if name not in PARSERS:
            result.filtered.setdefault(name, set()).update(literals(value.strip('"')))
    for names in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        result.grouped |= {name.strip() for name in names.split(",") if name.strip()}
    result.grouped |= set(re.findall(r"\|\s*unwrap\s+(\w+)", expr))
    return result


def literals(pattern: str) -> set[str]:
    """The plain alternatives of a matcher's value: `a|b` gives {a, b}; Grafana variables and regexes give none."""
    if "$" in pattern:
        return set()
    return {part for part in pattern.split("|") if re.fullmatch(r"[\w -]+", part)}


# --- Alloy's configuration ----------------------------------------------------------------------


@dataclass
class AlloyConfig:
    json_expressions: dict[str, str]  # extracted name -> JSON field
    labels: set[str]
    structured_metadata: set[str]
    kubernetes_labels: set[str]  # from discovery.relabel


def block(text: str, header: str) -> str:
    """The body of the first `header { ... }` block (braces balanced)."""
    start = text.index(header)
    depth, position = 0, text.index("{", start)
    for index in range(position, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[position + 1 : index]
    raise AssertionError(f"unbalanced {header}")


def alloy_config(text: str) -> AlloyConfig:
    text = "\n".join(line.split("//", 1)[0] if not line.lstrip().startswith("//") else "" for line in text.splitlines())
    pairs = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
    process = block(text, 'loki.process "json"')
    json_stage = dict(pairs.findall(block(process, "stage.json")))
    labels = {name for name, _ in pairs.findall(block(process, "stage.labels"))}
    metadata = {name for name, _ in pairs.findall(block(process, "stage.structured_metadata"))}
    relabel = block(text, 'discovery.relabel "pods"')
    kubernetes = set(re.findall(r'target_label\s*=\s*"(\w+)"', relabel))
    return AlloyConfig(json_stage, labels, metadata, kubernetes)


# --- What the processes write -------------------------------------------------------------------


def exception_line() -> dict[str, Any]:
    """A line our formatter writes for an exception (a system run may log none): it carries stack_trace."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter("room-service"))
    logger = logging.getLogger("tests.monitoring.exception")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("unhandled exception")
    finally:
        logger.removeHandler(handler)
    return dict(json.loads(stream.getvalue().splitlines()[0]))


def backup_result_lines() -> list[dict[str, Any]]:
    """The JSON lines backup.sh and restore.sh --verify-only end with (scripts/backup/report.py): a system run
    has no backup, so they are made here, by the same code."""
    sys.path.insert(0, str(ROOT / "scripts" / "backup"))
    try:
        import report
    finally:
        sys.path.remove(str(ROOT / "scripts" / "backup"))
    return [report.log_line(job, ok, "20300101-020000", 1.0, "") for job in report.JOBS for ok in (True, False)]


@pytest.fixture(scope="module")
def emitted(stack: Stack, admin: dict[str, str]) -> dict[str, set[str]]:
    """Fields and label values of the real logs, after requests through the gateway that every service serves."""
    gateway = stack.gateway
    room = requests.post(
        f"{gateway}/rooms",
        json={"name": f"Monitoring {uuid.uuid4().hex[:12]}", "capacity": 4},
        headers=admin,
        timeout=10,
    )
    assert room.status_code == 201, room.text
    for path in ("/users/profile", "/rooms", "/reservations", "/rooms/999999999"):
        requests.get(f"{gateway}{path}", headers={**admin, "X-Request-ID": "monitoring-test"}, timeout=10)
    requests.get(f"{gateway}/rooms", timeout=10)  # 401 without a token
    seen = emitted_fields(stack.log_dir)
    seen["fields"] |= set(exception_line())
    for line in backup_result_lines():
        seen["fields"] |= set(line)
        seen["service"].add(str(line["service"]))
        seen["level"].add(str(line["level"]))
    return seen


# --- Tests --------------------------------------------------------------------------------------


def test_every_dashboard_and_rule_file_parses_and_points_at_the_loki_data_source() -> None:
    boards = dashboards()
    assert {board["title"] for board in boards.values()} == {
        "Kubernetes Logs",
        "Service Logs",
        "Error Tracking",
        "Operations",
    }
    for name, board in boards.items():
        assert board["uid"] and len(board["uid"]) <= 40, name
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in board["panels"]:
            assert panel["datasource"] == {"type": "loki", "uid": "loki"}, (name, panel["title"])
            assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"]), (name, panel["title"])
    service_logs = next(b for b in boards.values() if b["title"] == "Service Logs")
    variables = {v["name"] for v in service_logs["templating"]["list"]}
    assert {"service", "level", "request_id", "user_id"} <= variables
    rules = alert_rules()
    titles = {rule["title"] for rule in rules}
    assert {"High error rate", "Database errors", "Service unreachable through the gateway", "No logs"} <= titles
    # What can stop silently (files/prometheus/alerts.yaml has the same conditions over metrics).
    assert {"Outbox not draining", "No relay reports", "Consumer lag", "Dead-lettered events"} <= titles
    assert {"Backup failed", "No successful backup for a day", "Restore drill failed"} <= titles
    for rule in rules:
        refs = {item["refId"] for item in rule["data"]}
        assert rule["condition"] in refs, rule["uid"]
        for item in rule["data"]:
            assert item["datasourceUid"] in {"loki", "__expr__"}, rule["uid"]
            assert item["model"].get("expression", "A") in refs, rule["uid"]


def test_queries_are_balanced_and_every_one_is_understood() -> None:
    for where, expr in queries().items():
        for opening, closing in ("()", "{}", "[]"):
            assert expr.count(opening) == expr.count(closing), where
        assert expr.count('"') % 2 == 0, where
        found = usage(expr)
        assert found.stream_labels or "label_values" in expr, f"{where}: no stream selector"
        assert not found.whole_line_json, f'{where}: name the JSON fields (| json a="a"), as Alloy\'s metadata collide'


def test_the_query_parser_sees_labels_filters_and_json_fields() -> None:
    found = usage(
        'sum by (service) (count_over_time({service=~"gateway|room-service", level="ERROR"} '
        '| status >= 500 | json message="message" | message=~"db.*" | line_format "{{.trace_id}}" [5m]))'
    )
    assert found.stream_labels == {"service": {"gateway", "room-service"}, "level": {"ERROR"}}
    assert found.filtered == {"status": {"500"}, "message": set()}
    assert found.json_fields == {"message": "message"}
    assert found.grouped == {"service", "trace_id"}


def test_alloy_parses_our_fields_into_low_cardinality_labels_and_structured_metadata(
    emitted: dict[str, set[str]],
) -> None:
    config = alloy_config(ALLOY.read_text())
    assert set(config.json_expressions.values()) <= emitted["fields"], "Alloy extracts a field nobody writes"
    assert config.labels == {"service", "level"}
    assert {"request_id", "user_id", "path", "status"} <= config.structured_metadata
    assert (config.labels | config.structured_metadata) <= set(config.json_expressions)
    assert {"namespace", "pod", "container"} <= config.kubernetes_labels
    assert not config.labels & {"request_id", "user_id", "path", "status", "message"}, "high cardinality"


def unknown_references(exprs: dict[str, str], config: AlloyConfig, emitted: dict[str, set[str]]) -> list[str]:
    """Every label, field or label value a query uses that Alloy does not parse or our logs do not carry."""
    stream_labels = config.labels | config.kubernetes_labels
    problems = []
    for where, expr in exprs.items():
        found = usage(expr)
        available = stream_labels | config.structured_metadata | set(found.json_fields)
        problems += [f"{where}: stream label {name}" for name in set(found.stream_labels) - stream_labels]
        problems += [f"{where}: filter on {name}" for name in set(found.filtered) - available]
        problems += [f"{where}: groups by {name}" for name in found.grouped - available]
        problems += [f"{where}: JSON field {f}" for f in set(found.json_fields.values()) - emitted["fields"]]
        for value in found.stream_labels.get("service", set()):
            if value not in emitted["service"]:
                problems.append(f"{where}: service {value!r} never appears in the logs")
        for value in found.stream_labels.get("level", set()):
            if value not in LEVELS:
                problems.append(f"{where}: level {value!r} is not one our processes write")
    return problems


def test_every_label_and_field_the_dashboards_and_alerts_use_is_written_and_parsed(
    emitted: dict[str, set[str]],
) -> None:
    config = alloy_config(ALLOY.read_text())
    label_sources = {name: config.json_expressions[name] for name in config.labels | config.structured_metadata}
    assert set(label_sources.values()) <= emitted["fields"]
    problems = unknown_references(queries(), config, emitted)
    assert not problems, "\n".join(problems)
    assert {"gateway", "user-service", "room-service", "reservation-service"} <= emitted["service"]
    assert {level.upper() for level in emitted["level"]} <= LEVELS


def test_the_check_catches_what_is_not_written_or_not_parsed() -> None:
    config = alloy_config(ALLOY.read_text())
    emitted = {"fields": {"level", "service", "message", "status"}, "service": {"gateway"}, "level": {"INFO"}}
    bad = {
        "stream label": '{service="gateway", trace="x"}',
        "metadata": '{service="gateway"} | span_id="1"',
        "json field": '{service="gateway"} | json t="trace_id" | t="1"',
        "service": '{service="billing-service"}',
        "level": '{service="gateway", level="FATAL"}',
        "grouping": 'sum by (tenant) (count_over_time({service="gateway"} [5m]))',
    }
    found = unknown_references(bad, config, emitted)
    assert {problem.split(":")[0] for problem in found} == set(bad), found
    assert not unknown_references({"ok": '{service="gateway"} | status >= 500'}, config, emitted)


def test_matched_messages_are_ones_our_code_logs() -> None:
    """`message=~"database unavailable.*"` must match a message servicekit really logs."""
    sources = "\n".join(path.read_text() for path in (ROOT / "libs/servicekit/servicekit").glob("*.py"))
    logged = set(re.findall(r'log\.(?:debug|info|warning|error|exception|critical)\(\s*"([^"]+)"', sources))
    for where, expr in queries().items():
        for pattern in re.findall(r'\|\s*message\s*=~?\s*"((?:[^"\\]|\\.)*)"', expr):
            assert any(re.fullmatch(pattern, message) for message in logged), f"{where}: {pattern!r}"
