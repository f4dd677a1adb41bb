"""The Kafka topic configuration (names, partitions, replication, topic-level configs) to and from JSON."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from failure import Failure
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError

FORMAT = "meeting-rooms/kafka-topics/1"
# Set on the topic itself: what a restore has to set again. Other non-default values come from the brokers.
TOPIC_SOURCE = "DYNAMIC_TOPIC_CONFIG"


class KafkaFailure(Failure):
    """A Kafka problem, with a message that says what to check."""


@contextmanager
def admin_client(bootstrap_servers: str) -> Iterator[Any]:
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # its retries are noise; our message says it all
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers.split(","),
            client_id="meeting-rooms-backup",
            bootstrap_timeout_ms=10_000,
            request_timeout_ms=15_000,
        )
    except (KafkaError, OSError) as error:
        raise KafkaFailure(f"cannot reach Kafka at {bootstrap_servers}: {error!r}") from error
    try:
        yield admin
    except KafkaError as error:
        raise KafkaFailure(f"Kafka at {bootstrap_servers} refused the request: {error!r}") from error
    finally:
        admin.close()


def describe(admin: Any, prefix: str) -> list[dict[str, Any]]:
    names = sorted(name for name in admin.list_topics() if name.startswith(prefix) and not name.startswith("__"))
    if not names:
        return []
    described = {topic["name"]: topic for topic in admin.describe_topics(names)}
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    configs = admin.describe_configs(resources).get("topic", {})
    topics = []
    for name in names:
        topic = described[name]
        if topic.get("is_internal"):
            continue
        partitions = topic["partitions"]
        entries = configs.get(name, {})
        topics.append(
            {
                "name": name,
                "partitions": len(partitions),
                "replication_factor": max((len(p["replica_nodes"]) for p in partitions), default=1),
                "configs": {k: v["value"] for k, v in sorted(entries.items()) if v["config_source"] == TOPIC_SOURCE},
                "broker_configs": {
                    k: v["value"] for k, v in sorted(entries.items()) if v["config_source"] != TOPIC_SOURCE
                },
            }
        )
    return topics


def export(bootstrap_servers: str, prefix: str, out: Path) -> int:
    """Writes the topic configuration as gzipped JSON; returns the number of topics."""
    with admin_client(bootstrap_servers) as admin:
        cluster = admin.describe_cluster()
        topics = describe(admin, prefix)
    document = {
        "format": FORMAT,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "bootstrap_servers": bootstrap_servers,
        "cluster_id": cluster.get("cluster_id"),
        "brokers": len(cluster.get("brokers", [])),
        "topic_prefix": prefix,
        "topics": topics,
    }
    with gzip.open(out, "wt", encoding="utf-8") as stream:
        json.dump(document, stream, indent=2, sort_keys=True)
    with gzip.open(out, "rt", encoding="utf-8") as stream:  # read back: a truncated file fails here
        if json.load(stream)["topics"] != topics:
            raise KafkaFailure(f"{out} does not read back as written")
    return len(topics)


def load(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        document: dict[str, Any] = json.load(stream)
    if document.get("format") != FORMAT:
        raise KafkaFailure(f"{path} is not a topic export of this project (format {document.get('format')!r})")
    return document


def restore(bootstrap_servers: str, path: Path) -> list[str]:
    """Creates every topic of the export that is missing; existing topics are left as they are."""
    document = load(path)
    report = [] if document["topics"] else [f"{path.name} lists no topics"]
    with admin_client(bootstrap_servers) as admin:
        existing = set(admin.list_topics())
        brokers = max(1, len(admin.describe_cluster().get("brokers", [])))
        current = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(sorted(existing))} if existing else {}
        missing = []
        for topic in document["topics"]:
            name, partitions = topic["name"], topic["partitions"]
            if name in existing:
                has = current.get(name)
                note = "" if has == partitions else f" (it has {has} partitions, the backup {partitions})"
                report.append(f"topic {name}: exists, left as it is{note}")
                continue
            replication = min(topic["replication_factor"], brokers)
            if replication < topic["replication_factor"]:
                report.append(f"topic {name}: replication {topic['replication_factor']} > {brokers} broker(s)")
            missing.append(NewTopic(name, partitions, replication, topic_configs=topic["configs"]))
            report.append(f"topic {name}: created ({partitions} partitions, replication {replication})")
        if missing:
            admin.create_topics(missing)
    return report
