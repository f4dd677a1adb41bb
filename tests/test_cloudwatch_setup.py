"""The CloudWatch setup against a local AWS-compatible server (moto over HTTP): complete, and idempotent."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from scripts.monitoring import cloudwatch_setup
from tests.harness import moto_server

GROUP = "meeting-room-reservation-system"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def run(endpoint: str, *emails: str) -> list[str]:
    return cloudwatch_setup.setup(
        log_group=GROUP, region="us-east-1", emails=list(emails), retention_days=30, endpoint_url=endpoint
    )


def test_setup_creates_everything_and_a_second_run_changes_nothing(endpoint: str) -> None:
    first = run(endpoint, "ops@example.com", "admin@example.com")
    assert any("log group" in change for change in first) and len(first) >= 9
    assert run(endpoint, "ops@example.com", "admin@example.com") == []

    session = boto3.session.Session(region_name="us-east-1")
    logs = session.client("logs", endpoint_url=endpoint)
    (group,) = [g for g in logs.describe_log_groups()["logGroups"] if g["logGroupName"] == GROUP]
    assert group["retentionInDays"] == 30
    filters = {f["filterName"]: f for f in logs.describe_metric_filters(logGroupName=GROUP)["metricFilters"]}
    assert set(filters) == {"critical-errors", "server-errors", "database-errors"}
    alarms = session.client("cloudwatch", endpoint_url=endpoint).describe_alarms()["MetricAlarms"]
    assert {a["MetricName"] for a in alarms} >= {"ErrorCount", "ServerErrorCount", "DatabaseErrorCount"}
    sns = session.client("sns", endpoint_url=endpoint)
    (topic,) = [
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("meeting-room-system-alerts")
    ]
    assert all(topic in a["AlarmActions"] for a in alarms)
    emails = {s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    assert emails == {"ops@example.com", "admin@example.com"}


def test_a_new_admin_is_subscribed_and_nothing_else_changes(endpoint: str) -> None:
    run(endpoint, "ops@example.com")
    assert run(endpoint, "ops@example.com", "new@example.com") == [
        "new@example.com subscribed to meeting-room-system-alerts"
    ]
