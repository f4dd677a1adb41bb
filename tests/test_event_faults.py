"""Nothing acknowledged is lost: Kafka stopped, relay and consumers killed for real, on a stack of its own."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer

from devstack.harness import Stack, running_stack, system_stack_config
from devstack.stack import PYTHON, ROOT, child_env
from servicekit.settings import sqlalchemy_url
from servicekit_testing import free_port, unique_name
from tests.test_slice import book, book_when_known, create_room


class PrivateKafka:
    """A broker of this module's own, so stopping it disturbs no other test."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port, self.controller_port = data_dir, free_port(), free_port()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        script = str(ROOT / "scripts" / "kafka.sh")
        subprocess.run([script, "start", str(self.data_dir), str(self.port), str(self.controller_port)], check=True)
        subprocess.run([script, "wait", str(self.port), "120"], check=True)

    def stop(self) -> None:
        subprocess.run([str(ROOT / "scripts" / "kafka.sh"), "stop", str(self.data_dir)], check=True)


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateKafka]:
    broker = PrivateKafka(tmp_path_factory.mktemp("kafka") / "broker")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory, kafka: PrivateKafka) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("fault-stack")
    config = system_stack_config(log_dir, kafka=kafka.bootstrap)
    config.extra_env.update(RELAY_BATCH_SIZE="20", RELAY_MAX_BACKOFF_SECONDS="2")
    with running_stack(config, log_dir) as stack:
        yield stack


@pytest.fixture(scope="module")
def admin(fault_stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {fault_stack.token('admin@example.com', 'admin')}"}


def query(stack: Stack, service: str, sql: str, **params: Any) -> Any:
    engine = sa.create_engine(sqlalchemy_url(stack.config.database_url(service)))
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(sql), params).scalar()
    finally:
        engine.dispose()


def eventually(check: Callable[[], bool], what: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"not in {timeout_s} s: {what}"
        time.sleep(0.2)


def replicated(stack: Stack, prefix: str) -> int:
    return int(query(stack, "reservation", "SELECT count(*) FROM rooms WHERE name LIKE :p", p=f"{prefix}%"))


def applied_room_events(stack: Stack, prefix: str) -> tuple[int, int]:
    """(room events in the room service's outbox for these rooms, how many the reservation service applied)."""
    engine = sa.create_engine(sqlalchemy_url(stack.config.database_url("room")))
    with engine.connect() as connection:
        ids = [
            str(row[0])
            for row in connection.execute(
                sa.text("SELECT event_id FROM outbox WHERE payload->'data'->>'name' LIKE :p"), {"p": f"{prefix}%"}
            )
        ]
    engine.dispose()
    applied = query(
        stack, "reservation", "SELECT count(*) FROM processed_events WHERE event_id::text = ANY(:ids)", ids=ids
    )
    return len(ids), int(applied)


def new_rooms(stack: Stack, admin: dict[str, str], prefix: str, count: int) -> list[int]:
    return [create_room(stack, admin, f"{prefix} {i}")["id"] for i in range(count)]


def start_crashing(stack: Stack, name: str, *arguments: str) -> None:
    """Start process `name` (room-relay, reservation-consumer) as the test-only entry point that dies on cue
    (servicekit_testing.crashing: the production loop with one step overridden), in the stack's place for it."""
    service, role = name.split("-")
    command = [PYTHON, "-m", "servicekit_testing.crashing", role, *arguments]
    with stack.log(name).open("ab") as log:
        stack.processes[name] = subprocess.Popen(
            command,
            env=child_env(stack.config.service_env(service, role)),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )


def test_writes_succeed_while_kafka_is_down_and_every_event_arrives_once(
    fault_stack: Stack, kafka: PrivateKafka, admin: dict[str, str]
) -> None:
    known = [create_room(fault_stack, admin, f"Known {i}")["id"] for i in range(5)]
    start = (datetime.now(UTC) + timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
    for room_id in known:  # these rooms reach the reservation service while Kafka is still up
        probe = book_when_known(
            fault_stack, admin, room_id, start.isoformat(), (start + timedelta(hours=1)).isoformat()
        )
        assert probe.status_code == 201
    kafka.stop()
    try:
        rooms = new_rooms(fault_stack, admin, "Outage", 250)
        assert len(rooms) == 250
        for i in range(250):
            slot = start + timedelta(hours=2 + i)
            response = book(fault_stack, admin, known[i % 5], slot.isoformat(), (slot + timedelta(hours=1)).isoformat())
            assert response.status_code == 201, response.text
    finally:
        kafka.start()
    eventually(lambda: replicated(fault_stack, "Outage") == 250, "all 250 rooms replicated")
    sent, applied = applied_room_events(fault_stack, "Outage")
    assert (sent, applied) == (250, 250)
    for service in ("room", "reservation"):
        eventually(
            lambda service=service: (
                query(fault_stack, service, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
            ),
            f"{service} outbox drained",
        )


def test_relay_dying_after_publishing_republishes_without_a_second_effect(
    fault_stack: Stack, admin: dict[str, str]
) -> None:
    fault_stack.stop("room-relay")
    new_rooms(fault_stack, admin, "Crash relay", 100)
    start_crashing(fault_stack, "room-relay", "--service", "room-service", "--topics", "room_events", "--after", "2")
    assert fault_stack.processes["room-relay"].wait(60) == 70  # died with batch 2 on the wire, unmarked
    unsent = query(
        fault_stack,
        "room",
        "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND payload->'data'->>'name' LIKE 'Crash relay%'",
    )
    assert 0 < unsent <= 100 - 20  # batch 1 was marked sent, batch 2 was published but not marked
    fault_stack.start("room-relay")
    eventually(lambda: replicated(fault_stack, "Crash relay") == 100, "all rooms replicated after the crash")
    assert applied_room_events(fault_stack, "Crash relay") == (100, 100)
    duplicates = fault_stack.log("reservation-consumer").read_text().count("duplicate event skipped")
    assert duplicates >= 1  # batch 2 arrived twice, and the second copy did nothing


def test_relay_killed_with_sigkill_mid_stream_loses_nothing(fault_stack: Stack, admin: dict[str, str]) -> None:
    fault_stack.stop("room-relay")
    new_rooms(fault_stack, admin, "Killed relay", 200)
    fault_stack.start("room-relay", wait=False)
    eventually(
        lambda: (
            query(
                fault_stack,
                "room",
                "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL"
                " AND payload->'data'->>'name' LIKE 'Killed relay%'",
            )
            > 0
        ),
        "the relay started publishing",
        timeout_s=30,
    )
    fault_stack.kill("room-relay")
    fault_stack.start("room-relay")
    eventually(lambda: replicated(fault_stack, "Killed relay") == 200, "all rooms replicated after SIGKILL")
    assert applied_room_events(fault_stack, "Killed relay") == (200, 200)


def test_consumer_dying_between_database_and_offset_commit_applies_once(
    fault_stack: Stack, admin: dict[str, str]
) -> None:
    fault_stack.stop("reservation-consumer")
    new_rooms(fault_stack, admin, "Crash consumer", 5)
    handlers = "reservation_service.replica.handlers:HANDLERS"
    start_crashing(
        fault_stack, "reservation-consumer", "--service", "reservation-service", "--handlers", handlers, "--after", "3"
    )
    assert fault_stack.processes["reservation-consumer"].wait(60) == 70
    assert replicated(fault_stack, "Crash consumer") == 3  # three applied, the third one's offset never committed
    fault_stack.start("reservation-consumer")
    eventually(lambda: replicated(fault_stack, "Crash consumer") == 5, "the rest applied after the restart")
    assert applied_room_events(fault_stack, "Crash consumer") == (5, 5)
    log = fault_stack.log("reservation-consumer").read_text().splitlines()
    restart = max(i for i, line in enumerate(log) if "consumer started" in line)
    assert any("duplicate event skipped" in line for line in log[restart:])


def test_two_consumers_share_the_stream_and_one_is_killed(fault_stack: Stack, admin: dict[str, str]) -> None:
    fault_stack.start("reservation-consumer-2")
    stop = threading.Event()
    created: list[int] = []

    def stream() -> None:
        i = 0
        while not stop.is_set() and i < 150:
            created.append(create_room(fault_stack, admin, f"Stream {i}")["id"])
            i += 1

    writer = threading.Thread(target=stream)
    writer.start()
    eventually(lambda: replicated(fault_stack, "Stream") >= 20, "the stream is flowing", timeout_s=30)
    fault_stack.kill("reservation-consumer")
    writer.join(timeout=120)
    stop.set()
    total = len(created)
    eventually(lambda: replicated(fault_stack, "Stream") == total, "every streamed room applied by the survivor", 90)
    assert applied_room_events(fault_stack, "Stream") == (total, total)
    fault_stack.stop("reservation-consumer-2")
    fault_stack.start("reservation-consumer")


def test_dead_letters_carry_the_error_and_the_original_headers(fault_stack: Stack, kafka: PrivateKafka) -> None:
    from kafka import KafkaProducer

    topic = f"{fault_stack.config.topic_prefix}room_events"
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap)
    producer.send(topic, key=b"x", value=b"not json", headers=[("request_id", b"poison-1")]).get(timeout=30)
    producer.close()
    reader = KafkaConsumer(
        f"{topic}.dlq",
        bootstrap_servers=kafka.bootstrap,
        auto_offset_reset="earliest",
        group_id=unique_name("dlq"),
        consumer_timeout_ms=30000,
    )
    headers = next(dict(m.headers) for m in reader if dict(m.headers).get("request_id") == b"poison-1")
    reader.close()
    assert b"not JSON" in headers["dlq_error"]
