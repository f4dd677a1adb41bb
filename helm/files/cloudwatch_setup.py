"""Set up CloudWatch for the system, idempotently: the log group, metric filters over our JSON logs,
an SNS topic that e-mails the admins, and alarms on critical errors. A second run changes nothing.

    .venv/bin/python -m scripts.monitoring.cloudwatch_setup --log-group meeting-room-reservation-system \\
        --region us-east-1 --alarm-email ops@example.com [--endpoint-url http://127.0.0.1:5000]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

import boto3

NAMESPACE = "MeetingRoomSystem"
TOPIC_NAME = "meeting-room-system-alerts"


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


def setup(
    *, log_group: str, region: str, emails: list[str], retention_days: int, endpoint_url: str | None
) -> list[str]:
    """Bring CloudWatch to the desired state; returns what was changed (empty when nothing was)."""
    session = boto3.session.Session(region_name=region)
    logs = session.client("logs", endpoint_url=endpoint_url)
    sns = session.client("sns", endpoint_url=endpoint_url)
    cloudwatch = session.client("cloudwatch", endpoint_url=endpoint_url)
    changes: list[str] = []
    _log_group(logs, log_group, retention_days, changes)
    for item in FILTERS:
        _metric_filter(logs, log_group, item, changes)
    topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]  # idempotent by name
    _subscriptions(sns, topic_arn, emails, changes)
    for metric, (threshold, description) in ALARMS.items():
        _alarm(cloudwatch, metric, threshold, description, topic_arn, changes)
    return changes


def _log_group(logs: Any, name: str, retention_days: int, changes: list[str]) -> None:
    existing = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
    if not existing:
        logs.create_log_group(logGroupName=name)
        changes.append(f"log group {name} created")
    if not existing or existing[0].get("retentionInDays") != retention_days:
        logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
        changes.append(f"log group {name} keeps {retention_days} days")


def _metric_filter(logs: Any, group: str, item: Filter, changes: list[str]) -> None:
    current = logs.describe_metric_filters(logGroupName=group, filterNamePrefix=item.name)["metricFilters"]
    wanted = [{"metricName": item.metric, "metricNamespace": NAMESPACE, "metricValue": "1", "defaultValue": 0.0}]
    same = [
        f
        for f in current
        if f["filterName"] == item.name
        and f["filterPattern"] == item.pattern
        and [{k: t.get(k) for k in wanted[0]} for t in f["metricTransformations"]] == wanted
    ]
    if not same:
        logs.put_metric_filter(
            logGroupName=group, filterName=item.name, filterPattern=item.pattern, metricTransformations=wanted
        )
        changes.append(f"metric filter {item.name} set")


def _subscriptions(sns: Any, topic_arn: str, emails: list[str], changes: list[str]) -> None:
    subscribed = {s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]}
    for email in emails:
        if email not in subscribed:
            sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=email)
            changes.append(f"{email} subscribed to {TOPIC_NAME}")


def _alarm(cloudwatch: Any, metric: str, threshold: int, description: str, topic_arn: str, changes: list[str]) -> None:
    name = f"meeting-room-system-{metric}"
    wanted = {
        "AlarmName": name,
        "AlarmDescription": description,
        "MetricName": metric,
        "Namespace": NAMESPACE,
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
    parser.add_argument("--log-group", default="meeting-room-reservation-system")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--alarm-email", action="append", default=[], help="repeat for several admins")
    parser.add_argument("--retention-days", type=int, default=30)
    parser.add_argument("--endpoint-url", help="an AWS-compatible server (e.g. moto) instead of AWS")
    args = parser.parse_args(argv)
    changes = setup(
        log_group=args.log_group,
        region=args.region,
        emails=args.alarm_email,
        retention_days=args.retention_days,
        endpoint_url=args.endpoint_url,
    )
    print("\n".join(changes) if changes else "CloudWatch is already set up; nothing changed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
