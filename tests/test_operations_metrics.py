"""What can silently stop shows in the metrics of the running system (the shared `stack` of the system suite).

A stopped relay: the room service's /metrics reports its outbox growing older (read from the database at each
scrape, so it does not depend on the relay that stopped). A poison message: the consumer counts a dead letter.
The alert rules over these metrics are checked with promtool in tests/test_alert_rules.py.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import requests
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from devstack.harness import Stack

T = TypeVar("T")


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page, by name and labels."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page.text)
        for sample in family.samples
    }


def value(url: str, name: str, **labels: str) -> float | None:
    return samples(url).get((name, tuple(sorted(labels.items()))))


def eventually(probe: Callable[[], T | None], what: str, timeout_s: float = 60) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result is not None:
            return result
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        time.sleep(0.2)


def test_a_stopped_relay_shows_as_a_growing_outbox_age(stack: Stack, admin: dict[str, str]) -> None:
    metrics = f"{stack.web('room')}/metrics"
    assert value(metrics, "outbox_pending_events") == 0  # the relay keeps up
    assert value(metrics, "outbox_oldest_pending_age_seconds") == 0
    stack.stop("room-relay")
    try:
        room = {"name": f"Unpublished {uuid.uuid4().hex[:10]}", "capacity": 3}
        created = requests.post(f"{stack.gateway}/rooms", json=room, headers=admin, timeout=10)
        assert created.status_code == 201, created.text
        first = eventually(lambda: value(metrics, "outbox_oldest_pending_age_seconds") or None, "an unpublished row")
        assert value(metrics, "outbox_pending_events") == 1
        later = eventually(
            lambda: age if (age := value(metrics, "outbox_oldest_pending_age_seconds") or 0) > first + 1 else None,
            "the oldest row's age rising",
        )
        assert later > first
    finally:
        stack.start("room-relay")
    eventually(lambda: True if value(metrics, "outbox_pending_events") == 0 else None, "the backlog published")
    assert value(metrics, "outbox_oldest_pending_age_seconds") == 0
    published = value(metrics, "outbox_last_published_timestamp_seconds")
    assert published is not None and published > time.time() - 60
    relay = samples(f"{stack.health('room-relay')}/metrics")
    assert relay[("outbox_relay_last_publish_timestamp_seconds", ())] >= published - 1


def test_a_poison_message_is_counted_as_a_dead_letter(stack: Stack) -> None:
    topic = f"{stack.config.topic_prefix}room_events"
    metrics = f"{stack.health('reservation-consumer')}/metrics"
    before = value(metrics, "consumer_events_dead_lettered_total", topic=topic) or 0
    producer = KafkaProducer(bootstrap_servers=stack.config.kafka_bootstrap_servers)
    try:
        producer.send(topic, key=b"poison", value=b"{not json").get(timeout=30)
    finally:
        producer.close()
    counted = eventually(
        lambda: n if (n := value(metrics, "consumer_events_dead_lettered_total", topic=topic) or 0) > before else None,
        "the dead letter counted",
    )
    assert counted == before + 1
    # The consumer went on: its lag on that topic comes back to 0 on every partition.
    eventually(
        lambda: (
            True
            if all(
                v == 0
                for (name, labels), v in samples(metrics).items()
                if name == "consumer_lag" and ("topic", topic) in labels
            )
            else None
        ),
        "no lag left",
    )
