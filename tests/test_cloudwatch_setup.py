"""The CloudWatch setup against a local AWS-compatible server (moto over HTTP): complete, and idempotent."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from devstack.harness import moto_server
from scripts.monitoring import cloudwatch_setup

GROUP = "meeting-room-reservation-system"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def run(endpoint: str, *emails: str, environment: str = "production", hooks: tuple[str, ...] = ()) -> list[str]:
    return cloudwatch_setup.setup(
        environment=environment,
        log_group=GROUP,
        region="us-east-1",
        subscriptions=[("email", email) for email in emails] + [("https", hook) for hook in hooks],
        retention_days=30,
        endpoint_url=endpoint,
    )


def test_setup_creates_everything_and_a_second_run_changes_nothing(endpoint: str) -> None:
    first = run(endpoint, "ops@example.com", "admin@example.com")
    assert any("log group" in change for change in first) and len(first) >= 9
    assert run(endpoint, "ops@example.com", "admin@example.com") == []

    session = boto3.session.Session(region_name="us-east-1")
    logs = session.client("logs", endpoint_url=endpoint)
    (group,) = [g for g in logs.describe_log_groups()["logGroups"] if g["logGroupName"] == f"{GROUP}/production"]
    assert group["retentionInDays"] == 30
    filters = {
        f["filterName"]: f for f in logs.describe_metric_filters(logGroupName=group["logGroupName"])["metricFilters"]
    }
    assert set(filters) == {
        f"meeting-room-system-production-{n}" for n in ("critical-errors", "server-errors", "database-errors")
    }
    assert {t["metricNamespace"] for f in filters.values() for t in f["metricTransformations"]} == {
        "MeetingRoomSystem/production"
    }
    alarms = [
        a
        for a in session.client("cloudwatch", endpoint_url=endpoint).describe_alarms()["MetricAlarms"]
        if a["AlarmName"].startswith("meeting-room-system-production-")
    ]
    assert {a["MetricName"] for a in alarms} == {"ErrorCount", "ServerErrorCount", "DatabaseErrorCount"}
    sns = session.client("sns", endpoint_url=endpoint)
    (topic,) = [
        t["TopicArn"]
        for t in sns.list_topics()["Topics"]
        if t["TopicArn"].endswith(":meeting-room-system-production-alerts")
    ]
    assert all(topic in a["AlarmActions"] for a in alarms)
    emails = {s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    assert emails == {"ops@example.com", "admin@example.com"}


def test_a_new_subscriber_is_subscribed_and_nothing_else_changes(endpoint: str) -> None:
    run(endpoint, "ops@example.com")
    assert run(endpoint, "ops@example.com", "new@example.com", hooks=("https://hooks.example.com/a",)) == [
        "new@example.com subscribed to meeting-room-system-production-alerts",
        "https://hooks.example.com/a subscribed to meeting-room-system-production-alerts",
    ]


def test_two_environments_in_one_account_never_share_a_name(endpoint: str) -> None:
    run(endpoint, "ops@example.com")
    staging = run(endpoint, "qa@example.com", environment="staging")
    assert staging and all("staging" in change for change in staging)
    assert run(endpoint, "ops@example.com") == []  # production untouched by staging's setup
    session = boto3.session.Session(region_name="us-east-1")
    topics = {
        t["TopicArn"].rsplit(":", 1)[1] for t in session.client("sns", endpoint_url=endpoint).list_topics()["Topics"]
    }
    assert {"meeting-room-system-production-alerts", "meeting-room-system-staging-alerts"} <= topics
