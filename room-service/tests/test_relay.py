"""The outbox relay against the real broker: rows reach Kafka in order, keyed, with headers, and are marked sent."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from kafka import KafkaConsumer

from room_service.config import SERVICE_NAME
from servicekit.relay import Relay, RelayConfig
from servicekit.settings import KafkaSettings, ServiceSettings
from servicekit_testing import kafka_servers, unique_name


@pytest.fixture
def kafka_settings() -> KafkaSettings:
    return KafkaSettings(kafka_servers(), f"{unique_name('t')}.", partitions=3, replication_factor=1)


@pytest.fixture
def relay(database_url: str, kafka_settings: KafkaSettings) -> Iterator[Relay]:
    service = ServiceSettings(SERVICE_NAME, database_url, "INFO", "i", "a")
    relay = Relay(service, kafka_settings, ["room_events"], RelayConfig(idle_wait_s=0.2))
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    yield relay
    relay.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()


def consume(kafka_settings: KafkaSettings, count: int, timeout_s: float = 30) -> list[object]:
    consumer = KafkaConsumer(
        kafka_settings.topic("room_events"),
        bootstrap_servers=kafka_settings.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=unique_name("reader"),
        consumer_timeout_ms=int(timeout_s * 1000),
    )
    messages = []
    for message in consumer:
        messages.append(message)
        if len(messages) == count:
            break
    consumer.close()
    return messages


def wait_until(condition: object, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_relay_publishes_outbox_rows_and_marks_them_sent(
    client: FlaskClient, admin: dict[str, str], engine: sa.Engine, relay: Relay, kafka_settings: KafkaSettings
) -> None:
    ids = []
    for number in range(3):
        headers = {**admin, "X-Request-ID": f"req-{number}"}
        ids.append(client.post("/rooms", json={"name": f"R{number}", "capacity": 4}, headers=headers).get_json()["id"])
    messages = consume(kafka_settings, 3)
    by_key = {m.key.decode(): m for m in messages}  # type: ignore[attr-defined]
    assert sorted(by_key) == sorted(str(i) for i in ids)
    for number, room_id in enumerate(ids):
        message = by_key[str(room_id)]
        envelope = json.loads(message.value)  # type: ignore[attr-defined]
        assert envelope["event_type"] == "room_created" and envelope["aggregate_id"] == room_id
        assert envelope["request_id"] == f"req-{number}"
        assert dict(message.headers)["request_id"] == f"req-{number}".encode()  # type: ignore[attr-defined]

    def all_sent() -> bool:
        with engine.connect() as connection:
            return connection.scalar(sa.text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")) == 0

    wait_until(all_sent)


def test_second_relay_stands_by_while_the_first_holds_the_lock(
    database_url: str, kafka_settings: KafkaSettings, relay: Relay
) -> None:
    wait_until(lambda: relay.heartbeat.state.get("active") is True)
    standby = Relay(
        ServiceSettings(SERVICE_NAME, database_url, "INFO", "i", "a"), kafka_settings, ["room_events"], RelayConfig()
    )
    thread = threading.Thread(target=standby.run, daemon=True)
    thread.start()
    wait_until(lambda: "active" in standby.heartbeat.state)
    assert standby.heartbeat.state["active"] is False
    relay.stop()
    wait_until(lambda: standby.heartbeat.state.get("active") is True)
    standby.stop()
    thread.join(timeout=30)
