"""The consumer loop: apply each event once, commit offsets only after the database transaction.

Group settings (issue 21): a crashed member is noticed within its session timeout (10 s, heartbeats every
3 s); a clean shutdown (SIGTERM) leaves the group so its partitions move at once. With a group instance id
(static membership, KIP-345: CONSUMER_GROUP_INSTANCE_ID, in Kubernetes the pod name by default) a restarted
process takes its partitions back without a rebalance; kafka-python, like the Java client, never sends
LeaveGroup for a static member, so on shutdown we remove it by its instance id through the admin API.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from prometheus_client import Counter, Gauge
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

from servicekit.context import request_id_var
from servicekit.health_server import Heartbeat, serve_health
from servicekit.membership import RebalanceLog, default_instance_id, leave_group, valid_instance_id
from servicekit.settings import ConfigError, Env, KafkaSettings, ServiceSettings
from servicekit.topics import ensure_topics

log = logging.getLogger(__name__)

Handler = Callable[[Session, Mapping[str, Any]], None]

APPLIED = Counter("consumer_events_applied_total", "Events applied", ["topic", "event_type"])
DUPLICATES = Counter("consumer_events_duplicate_total", "Redelivered events skipped", ["topic"])
LAG = Gauge("consumer_lag", "Events in the partition not yet consumed", ["topic", "partition"])
DEAD_LETTERED = Counter("consumer_events_dead_lettered_total", "Events sent to a dead-letter topic", ["topic"])

processed_events = sa.table("processed_events", sa.column("event_id"), sa.column("topic"), sa.column("processed_at"))


class PoisonMessage(Exception):
    """A message that can never be applied (not JSON, no event id): straight to the dead-letter topic."""


def ignore(session: Session, envelope: Mapping[str, Any]) -> None:
    """The handler of an event type a service knows and has nothing to do for (recorded as processed)."""


@dataclass(frozen=True)
class ConsumerConfig:
    max_attempts: int = 5
    retry_backoff_s: float = 0.5
    # Fault injection for the crash tests only: exit the process right after the database commit of the
    # Nth applied event, before its offset is committed. 0 (the default) never does.
    crash_after_commit: int = 0
    # A crashed member's partitions move after session_timeout_ms (the broker allows 6-1800 s by default).
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000  # at most a third of the session timeout
    # The longest a batch may take before the member is dropped from the group (its uncommitted events are then
    # redelivered, harmlessly); also how long a rebalance waits for a busy member, and how long /healthz
    # tolerates a loop that stopped polling before the liveness probe restarts the process.
    max_poll_interval_ms: int = 60_000
    max_poll_records: int = 50  # a few ms each: a batch takes well under a second, so rebalances are quick
    group_instance_id: str | None = None
    status_interval_s: float = 60.0  # "consumer lag" is logged per partition this often (log-based alerts)

    @classmethod
    def from_env(cls, env: Env) -> ConsumerConfig:
        instance_id = env.text("CONSUMER_GROUP_INSTANCE_ID", default_instance_id(env.environ))
        config = cls(
            max_attempts=env.integer("CONSUMER_MAX_ATTEMPTS", 5, minimum=1),
            retry_backoff_s=env.number("CONSUMER_RETRY_BACKOFF_SECONDS", 0.5),
            crash_after_commit=env.integer("FAULT_CRASH_AFTER_COMMIT", 0, minimum=0),
            session_timeout_ms=env.integer("CONSUMER_SESSION_TIMEOUT_MS", 10_000, minimum=1000),
            heartbeat_interval_ms=env.integer("CONSUMER_HEARTBEAT_INTERVAL_MS", 3_000, minimum=100),
            max_poll_interval_ms=env.integer("CONSUMER_MAX_POLL_INTERVAL_MS", 60_000, minimum=1000),
            max_poll_records=env.integer("CONSUMER_MAX_POLL_RECORDS", 50, minimum=1),
            status_interval_s=env.number("CONSUMER_STATUS_SECONDS", 60.0),
            # "none" turns static membership off where the default would turn it on
            group_instance_id=None if instance_id.lower() in ("", "none") else valid_instance_id(instance_id),
        )
        if config.heartbeat_interval_ms * 3 > config.session_timeout_ms:
            raise ConfigError("CONSUMER_HEARTBEAT_INTERVAL_MS must be at most a third of CONSUMER_SESSION_TIMEOUT_MS")
        return config

    def group_options(self) -> dict[str, Any]:
        return {
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "max_poll_interval_ms": self.max_poll_interval_ms,
            "max_poll_records": self.max_poll_records,
            "group_instance_id": self.group_instance_id,
        }


def parse_envelope(value: bytes | None) -> dict[str, Any]:
    try:
        envelope = json.loads(value or b"")
    except ValueError as error:
        raise PoisonMessage(f"not JSON: {error}") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("event_type"), str):
        raise PoisonMessage("not an event envelope")
    try:
        uuid.UUID(str(envelope.get("event_id")))
    except ValueError:
        raise PoisonMessage("event_id is not a UUID") from None
    return envelope


def apply_once(session: Session, topic: str, envelope: Mapping[str, Any], handlers: Mapping[str, Handler]) -> bool:
    """Apply an event in one transaction with its processed_events record; False if it was already applied."""
    with session.begin():
        inserted = session.execute(
            postgresql.insert(processed_events)
            .values(event_id=envelope["event_id"], topic=topic)
            .on_conflict_do_nothing()
            .returning(processed_events.c.event_id)
        ).first()
        if inserted is None:
            return False
        handler = handlers.get(envelope["event_type"])
        if handler is None:
            raise PoisonMessage(f"unknown event type {envelope['event_type']!r} on {topic}")
        handler(session, envelope)
    return True


class EventConsumer:
    def __init__(
        self,
        service: ServiceSettings,
        kafka: KafkaSettings,
        handlers: Mapping[str, Mapping[str, Handler]],
        config: ConsumerConfig,
    ) -> None:
        self.service = service
        self.kafka = kafka
        self.handlers = {kafka.topic(topic): hs for topic, hs in handlers.items()}
        self.config = config
        self.group_id = f"{kafka.topic_prefix}{service.service_name}"
        # A loop that has not polled for max_poll_interval has been dropped from the group already: restart it.
        self.heartbeat = Heartbeat(max_silence_s=config.max_poll_interval_ms / 1000)
        self.stopping = False
        engine = sa.create_engine(service.database_url, **service.engine_options())  # type: ignore[arg-type]
        self.sessions = sessionmaker(engine)

    def stop(self, *_: Any) -> None:
        self.stopping = True

    def run(self) -> None:
        ensure_topics(self.kafka, [t.removeprefix(self.kafka.topic_prefix) for t in self.handlers])
        consumer = KafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap_servers,
            reconnect_backoff_max_ms=2000,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self.config.group_options(),
        )
        consumer.subscribe(list(self.handlers), listener=RebalanceLog(self.heartbeat))
        dlq = KafkaProducer(bootstrap_servers=self.kafka.bootstrap_servers, acks="all", enable_idempotence=True)
        log.info(
            "consumer started",
            extra={"topics": sorted(self.handlers), "group_instance_id": self.config.group_instance_id},
        )
        try:
            self._loop(consumer, dlq)
        finally:
            leave_group(consumer, self.kafka.bootstrap_servers, self.group_id, self.config.group_instance_id)
            dlq.close(timeout=10)

    def _loop(self, consumer: KafkaConsumer, dlq: KafkaProducer) -> None:
        handled = 0
        next_status = 0.0
        while not self.stopping:
            try:
                batches = consumer.poll(timeout_ms=1000)
            except KafkaError as error:  # the broker is away: poll again, the client reconnects
                log.warning("polling failed, retrying", extra={"error": str(error)})
                time.sleep(1)
                continue
            self.heartbeat.beat()
            for partition, records in batches.items():
                for record in records:
                    self._handle(record, dlq)
                    handled += 1
                    if handled == self.config.crash_after_commit:
                        log.warning("fault injection: exiting between database commit and offset commit")
                        os._exit(70)
                    self._commit(consumer, partition, record.offset + 1)
                    if self.stopping:
                        break
                if self.stopping:
                    break
            log_lag = time.monotonic() >= next_status
            if _report_lag(consumer, log_lag) and log_lag:
                next_status = time.monotonic() + self.config.status_interval_s

    @staticmethod
    def _commit(consumer: KafkaConsumer, partition: TopicPartition, offset: int) -> None:
        """Commit after the database transaction; a failed commit means redelivery, which is harmless."""
        try:
            consumer.commit({partition: OffsetAndMetadata(offset, None, -1)})
        except KafkaError as error:
            log.warning("offset commit failed; the event will be redelivered", extra={"error": str(error)})

    def _handle(self, record: ConsumerRecord, dlq: KafkaProducer) -> None:
        headers = dict(record.headers or [])
        request_id = headers.get("request_id")
        token = request_id_var.set(request_id.decode() if request_id else None)
        try:
            self._apply_with_retries(record, dlq)
        finally:
            request_id_var.reset(token)

    def _apply_with_retries(self, record: ConsumerRecord, dlq: KafkaProducer) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                envelope = parse_envelope(record.value)
                with self.sessions() as session:
                    applied = apply_once(session, record.topic, envelope, self.handlers[record.topic])
                if applied:
                    APPLIED.labels(record.topic, envelope["event_type"]).inc()
                    log.info("event applied", extra=_describe(record, envelope))
                else:
                    DUPLICATES.labels(record.topic).inc()
                    log.info("duplicate event skipped", extra=_describe(record, envelope))
                return
            except PoisonMessage as error:
                self._dead_letter(record, dlq, error)
                return
            except sa.exc.OperationalError as error:
                # The database is away: not the message's fault, so wait for it rather than dead-letter.
                if self.stopping:
                    raise
                log.warning("database unavailable, retrying", extra={"error": str(error)})
                self.heartbeat.beat()  # alive and waiting: a restart cannot bring the database back
                time.sleep(min(self.config.retry_backoff_s * 2**attempt, 10.0))
                attempt = 0
            except Exception as error:
                if attempt >= self.config.max_attempts or self.stopping:
                    if self.stopping:
                        raise  # leave it uncommitted: the next consumer retries it
                    self._dead_letter(record, dlq, error)
                    return
                log.warning("event failed, retrying", extra={"attempt": attempt, "error": str(error)})
                time.sleep(self.config.retry_backoff_s * 2 ** (attempt - 1))

    def _dead_letter(self, record: ConsumerRecord, dlq: KafkaProducer, error: Exception) -> None:
        headers = [
            *(record.headers or []),
            ("dlq_error", str(error).encode()[:2000]),
            ("dlq_trace", "".join(traceback.format_exception(error)).encode()[:8000]),
            ("dlq_source", f"{record.topic}:{record.partition}:{record.offset}".encode()),
        ]
        dlq_topic = f"{record.topic}.dlq"
        ensure_topics(self.kafka, [dlq_topic.removeprefix(self.kafka.topic_prefix)])
        dlq.send(dlq_topic, key=record.key, value=record.value, headers=headers).get(timeout=30)
        DEAD_LETTERED.labels(record.topic).inc()
        log.error("event dead-lettered", extra={"topic": record.topic, "offset": record.offset, "error": str(error)})


def _report_lag(consumer: KafkaConsumer, log_lines: bool = False) -> bool:
    """Lag per partition, from what the last fetch saw (also logged, when asked); skipped while the broker is away.
    True when some partition's lag was known."""
    known = False
    for partition in sorted(consumer.assignment()):
        highwater = consumer.highwater(partition)
        if highwater is None:
            continue
        try:
            position = consumer.position(partition, timeout_ms=1000)
        except KafkaError:
            return known
        if position is not None:
            lag = max(0, highwater - position)
            LAG.labels(partition.topic, str(partition.partition)).set(lag)
            known = True
            if log_lines:
                log.info("consumer lag", extra={"topic": partition.topic, "partition": partition.partition, "lag": lag})
    return known


def _describe(record: ConsumerRecord, envelope: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "event_id": envelope.get("event_id"),
        "event_type": envelope.get("event_type"),
        "aggregate_id": envelope.get("aggregate_id"),
    }


def run_consumer(
    service: ServiceSettings, kafka: KafkaSettings, handlers: Mapping[str, Mapping[str, Handler]], health_port: int
) -> None:
    consumer = EventConsumer(service, kafka, handlers, ConsumerConfig.from_env(Env()))
    signal.signal(signal.SIGTERM, consumer.stop)
    signal.signal(signal.SIGINT, consumer.stop)
    serve_health(health_port, consumer.heartbeat)
    consumer.run()
