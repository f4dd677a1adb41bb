"""Set up CloudWatch for the system, idempotently: the log group, metric filters over our JSON logs,
an SNS topic with its subscriptions (e-mail, https, ...), and alarms on critical errors. A second run
changes nothing. Every name carries the environment, so several environments share an AWS account:
log group <log-group>/<environment>, metric namespace MeetingRoomSystem/<environment>, filters, topic
and alarms meeting-room-system-<environment>-....

    .venv/bin/python -m scripts.monitoring.cloudwatch_setup --environment production \\
        --log-group meeting-room-reservation-system --region us-east-1 \\
        --alarm-email ops@example.com [--subscribe https:https://hooks.example.com/x] [--endpoint-url URL]

In Kubernetes the chart's setup Job runs this file, the same command, in the backup image
(scripts/backup/Dockerfile copies it to /app/scripts/monitoring/): it exists nowhere else.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

import boto3

PREFIX = "meeting-room-system"


@dataclass(frozen=True)
class Filter:
    name: str
    pattern: str
    metric: str


# Patterns over the JSON fields every line of ours carries (level, logger, message, status).
FILTERS = [
    Filter("critical-errors", '{ ($.level = "ERROR") || ($.level = "CRITICAL") }', "ErrorCount"),
    Filter("server-errors", "{ $.status >= 500 }", "ServerErrorCount"),
    Filter("database-errors", '{ $.message = "database unavailable" }', "DatabaseErrorCount"),
]
ALARMS = {  # metric: (threshold in 5 minutes, description)
    "ErrorCount": (10, "More than 10 error log lines in 5 minutes"),
    "ServerErrorCount": (5, "More than 5 responses with status 5xx in 5 minutes"),
    "DatabaseErrorCount": (1, "The database was unavailable"),
}


@dataclass(frozen=True)
class Names:
    """Every CloudWatch name of one environment."""

    environment: str
    base_log_group: str

    @property
    def log_group(self) -> str:
        return f"{self.base_log_group}/{self.environment}"

    @property
    def namespace(self) -> str:
        return f"MeetingRoomSystem/{self.environment}"

    def named(self, what: str) -> str:
        return f"{PREFIX}-{self.environment}-{what}"


def setup(
    *,
    environment: str,
    log_group: str,
    region: str,
    subscriptions: list[tuple[str, str]],
    retention_days: int,
    endpoint_url: str | None,
) -> list[str]:
    """Bring CloudWatch to the desired state; returns what was changed (empty when nothing was)."""
    names = Names(environment, log_group)
    session = boto3.session.Session(region_name=region)
    logs = session.client("logs", endpoint_url=endpoint_url)
    sns = session.client("sns", endpoint_url=endpoint_url)
    cloudwatch = session.client("cloudwatch", endpoint_url=endpoint_url)
    changes: list[str] = []
    _log_group(logs, names.log_group, retention_days, changes)
    for item in FILTERS:
        _metric_filter(logs, names, item, changes)
    topic = names.named("alerts")
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]  # idempotent by name
    _subscriptions(sns, topic, topic_arn, subscriptions, changes)
    for metric, (threshold, description) in ALARMS.items():
        _alarm(cloudwatch, names, metric, threshold, description, topic_arn, changes)
    return changes


def _log_group(logs: Any, name: str, retention_days: int, changes: list[str]) -> None:
    existing = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
    if not existing:
        logs.create_log_group(logGroupName=name)
        changes.append(f"log group {name} created")
    if not existing or existing[0].get("retentionInDays") != retention_days:
        logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
        changes.append(f"log group {name} keeps {retention_days} days")


def _metric_filter(logs: Any, names: Names, item: Filter, changes: list[str]) -> None:
    group, name = names.log_group, names.named(item.name)
    current = logs.describe_metric_filters(logGroupName=group, filterNamePrefix=name)["metricFilters"]
    wanted = [{"metricName": item.metric, "metricNamespace": names.namespace, "metricValue": "1", "defaultValue": 0.0}]
    same = [
        f
        for f in current
        if f["filterName"] == name
        and f["filterPattern"] == item.pattern
        and [{k: t.get(k) for k in wanted[0]} for t in f["metricTransformations"]] == wanted
    ]
    if not same:
        logs.put_metric_filter(
            logGroupName=group, filterName=name, filterPattern=item.pattern, metricTransformations=wanted
        )
        changes.append(f"metric filter {name} set")


def _subscriptions(
    sns: Any, topic: str, topic_arn: str, subscriptions: list[tuple[str, str]], changes: list[str]
) -> None:
    current = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    subscribed = {(s["Protocol"], s["Endpoint"]) for s in current}
    for protocol, endpoint in subscriptions:
        if (protocol, endpoint) not in subscribed:
            sns.subscribe(TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint)
            changes.append(f"{endpoint} subscribed to {topic}")


def _alarm(
    cloudwatch: Any,
    names: Names,
    metric: str,
    threshold: int,
    description: str,
    topic_arn: str,
    changes: list[str],
) -> None:
    name = names.named(metric)
    wanted = {
        "AlarmName": name,
        "AlarmDescription": f"{names.environment}: {description}",
        "MetricName": metric,
        "Namespace": names.namespace,
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": float(threshold),
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [topic_arn],
    }
    current = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    if current and all(current[0].get(key) == value for key, value in wanted.items()):
        return
    cloudwatch.put_metric_alarm(**wanted)
    changes.append(f"alarm {name} set")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--environment", required=True, help="development, staging, production, ...: in every name")
    parser.add_argument(
        "--log-group", default="meeting-room-reservation-system", help="base name; /<environment> follows"
    )
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--alarm-email", action="append", default=[], help="repeat for several admins")
    parser.add_argument(
        "--subscribe",
        action="append",
        default=[],
        metavar="PROTOCOL:ENDPOINT",
        help="e.g. https:https://hooks.example.com/x",
    )
    parser.add_argument("--retention-days", type=int, default=30)
    parser.add_argument("--endpoint-url", help="an AWS-compatible server (e.g. moto) instead of AWS")
    args = parser.parse_args(argv)
    subscriptions = [("email", email) for email in args.alarm_email]
    for item in args.subscribe:
        protocol, _, endpoint = item.partition(":")
        if not endpoint:
            parser.error(f"--subscribe takes PROTOCOL:ENDPOINT, not {item!r}")
        subscriptions.append((protocol, endpoint))
    changes = setup(
        environment=args.environment,
        log_group=args.log_group,
        region=args.region,
        subscriptions=subscriptions,
        retention_days=args.retention_days,
        endpoint_url=args.endpoint_url,
    )
    print("\n".join(changes) if changes else "CloudWatch is already set up; nothing changed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
