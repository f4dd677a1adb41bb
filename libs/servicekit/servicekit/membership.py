"""Consumer-group membership: static instance ids, leaving on shutdown, and what each rebalance did."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import MemberToRemove
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from prometheus_client import Counter, Gauge, Histogram

from servicekit.health_server import Heartbeat

log = logging.getLogger(__name__)

ASSIGNED = Gauge("consumer_assigned_partitions", "Partitions currently assigned to this consumer")
REBALANCES = Counter("consumer_rebalances_total", "Partition assignments and revocations seen", ["event"])
UNASSIGNED = Histogram(
    "consumer_unassigned_seconds",
    "How long this consumer held no partition before an assignment (since its start or its last revocation)",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120),
)


def default_instance_id(environ: Mapping[str, str]) -> str:
    """In Kubernetes the pod name (HOSTNAME): unique per pod and kept across its container's restarts. Elsewhere
    none (a dynamic member): one host may run several consumers, and two members sharing an id fence each other."""
    return environ.get("HOSTNAME", "") if environ.get("KUBERNETES_SERVICE_HOST") else ""


def valid_instance_id(value: str) -> str:
    """What Kafka accepts as a group.instance.id: ASCII letters, digits, '.', '_', '-', at most 249 characters."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", value)[:249]


class RebalanceLog(ConsumerRebalanceListener):
    """A log line and metrics for each assignment and revocation, with how long we held no partition.

    kafka-python calls these on its IO thread, between heartbeats: they only log and count."""

    def __init__(self, heartbeat: Heartbeat) -> None:
        self.heartbeat = heartbeat
        self.partitions: set[TopicPartition] = set()
        self.unassigned_since = time.monotonic()
        self.since = "start"
        heartbeat.state["partitions"] = []

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        self._revoke(revoked, "partitions revoked")

    def on_partitions_lost(self, lost: Iterable[TopicPartition]) -> None:
        self._revoke(lost, "partitions lost: dropped from the group")

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        held_none = not self.partitions
        self.partitions |= set(assigned)
        extra: dict[str, Any] = {"partitions": _names(assigned), "assigned": len(self.partitions)}
        if held_none and self.partitions:
            waited = time.monotonic() - self.unassigned_since
            UNASSIGNED.observe(waited)
            extra.update(unassigned_s=round(waited, 3), unassigned_since=self.since)
        REBALANCES.labels("assigned").inc()
        self._publish()
        log.info("partitions assigned", extra=extra)

    def _revoke(self, partitions: Iterable[TopicPartition], message: str) -> None:
        gone = set(partitions)
        if not gone:  # called with nothing before the first assignment
            return
        self.partitions -= gone
        if not self.partitions:
            self.unassigned_since, self.since = time.monotonic(), "revocation"
        REBALANCES.labels("revoked").inc()
        self._publish()
        log.info(message, extra={"partitions": _names(gone), "assigned": len(self.partitions)})

    def _publish(self) -> None:
        ASSIGNED.set(len(self.partitions))
        self.heartbeat.state["partitions"] = _names(self.partitions)


def _names(partitions: Iterable[TopicPartition]) -> list[str]:
    return sorted(f"{p.topic}:{p.partition}" for p in partitions)


def leave_group(consumer: KafkaConsumer, bootstrap_servers: str, group_id: str, instance_id: str | None) -> None:
    """Leave the group now, so our partitions move without waiting for the session timeout."""
    consumer.close()  # a dynamic member sends LeaveGroup here
    if instance_id is None:
        return
    admin = None
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
        member = MemberToRemove(group_instance_id=instance_id, reason="shutdown")
        errors = admin.remove_group_members(group_id, [member])  # {instance id: error class}
        outcome = {str(getattr(key, "group_instance_id", key)): error.__name__ for key, error in errors.items()}
        log.info("left the consumer group", extra={"group_instance_id": instance_id, "outcome": outcome})
    except Exception as error:  # a failed goodbye must not turn a clean shutdown into a crash
        log.warning(
            "could not leave the consumer group; partitions move after the session timeout",
            extra={"group_instance_id": instance_id, "error": str(error)},
        )
    finally:
        if admin is not None:
            admin.close()
