"""The consumer loop against the real broker: applies once, dead-letters poison, keeps going."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer

from reservation_service.config import Settings
from reservation_service.replica.handlers import HANDLERS
from servicekit.consumer import ConsumerConfig, EventConsumer
from servicekit.settings import KafkaSettings
from servicekit.topics import ensure_topics
from servicekit_testing import kafka_servers, unique_name
from tests.conftest import room_event


@pytest.fixture
def kafka_settings() -> KafkaSettings:
    settings = KafkaSettings(kafka_servers(), f"{unique_name('t')}.", partitions=3, replication_factor=1)
    ensure_topics(settings, ["room_events"])
    return settings


@pytest.fixture
def consumer(settings: Settings, kafka_settings: KafkaSettings) -> Iterator[EventConsumer]:
    consumer = EventConsumer(
        settings.service, kafka_settings, HANDLERS, ConsumerConfig(max_attempts=2, retry_backoff_s=0.05)
    )
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    yield consumer
    consumer.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()


@pytest.fixture
def send(kafka_settings: KafkaSettings) -> Iterator[Callable[[bytes, str], None]]:
    producer = KafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers)

    def send(value: bytes, key: str = "1") -> None:
        producer.send(kafka_settings.topic("room_events"), key=key.encode(), value=value).get(timeout=30)

    yield send
    producer.close()


def dead_letters(kafka_settings: KafkaSettings, count: int) -> list[Any]:
    """The first `count` messages of the room events' dead-letter topic (a 30 s wait at most)."""
    reader = KafkaConsumer(
        kafka_settings.topic("room_events.dlq"),
        bootstrap_servers=kafka_settings.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=unique_name("dlq-reader"),
        consumer_timeout_ms=30000,
    )
    messages = []
    for message in reader:
        messages.append(message)
        if len(messages) == count:
            break
    reader.close()
    return messages


def wait_for(query: str, engine: sa.Engine, expected: object, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with engine.connect() as connection:
            value = connection.scalar(sa.text(query))
        if value == expected:
            return
        assert time.monotonic() < deadline, f"{query} gave {value!r}, wanted {expected!r}"
        time.sleep(0.1)


def test_events_are_applied_once_and_poison_goes_to_the_dlq(
    consumer: EventConsumer, send: Callable[..., None], engine: sa.Engine, kafka_settings: KafkaSettings
) -> None:
    created = room_event(5)
    send(json.dumps(created).encode(), "5")
    wait_for("SELECT name FROM rooms WHERE id = 5", engine, "Room 5")
    send(json.dumps(created).encode(), "5")  # redelivery
    send(b"\x00 not json", "6")
    send(json.dumps(room_event(5, "room_updated", version=2, name="After poison")).encode(), "5")
    wait_for("SELECT name FROM rooms WHERE id = 5", engine, "After poison")
    wait_for("SELECT count(*) FROM processed_events", engine, 2)

    (dead,) = dead_letters(kafka_settings, 1)
    assert dead.value == b"\x00 not json"
    headers = dict(dead.headers)
    assert b"not JSON" in headers["dlq_error"]
    assert headers["dlq_source"].startswith(kafka_settings.topic("room_events").encode())


def test_unknown_type_and_failing_handler_are_dead_lettered_and_the_stream_goes_on(
    consumer: EventConsumer, send: Callable[..., None], engine: sa.Engine, kafka_settings: KafkaSettings
) -> None:
    unknown = room_event(8, "room_renovated")
    broken = room_event(9)
    broken["data"]["capacity"] = None  # the replica cannot hold a room without capacity: the handler raises
    send(json.dumps(unknown).encode(), "8")
    send(json.dumps(broken).encode(), "9")
    send(json.dumps(room_event(10)).encode(), "10")
    wait_for("SELECT name FROM rooms WHERE id = 10", engine, "Room 10")
    wait_for("SELECT count(*) FROM rooms WHERE id IN (8, 9)", engine, 0)
    dead = {message.key: dict(message.headers) for message in dead_letters(kafka_settings, 2)}
    assert b"unknown event type" in dead[b"8"]["dlq_error"]
    assert b"capacity" in dead[b"9"]["dlq_error"]
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM processed_events")) == 1
