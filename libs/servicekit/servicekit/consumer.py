"""The consumer loop: apply each event once, commit offsets only after the database transaction.

Group settings (issue 21): a crashed member is noticed within its session timeout (10 s, heartbeats every
3 s); a clean shutdown (SIGTERM) leaves the group so its partitions move at once. With a group instance id
(static membership, KIP-345: CONSUMER_GROUP_INSTANCE_ID, in Kubernetes the pod name by default) a restarted
process takes its partitions back without a rebalance; kafka-python, like the Java client, never sends
LeaveGroup for a static member, so on shutdown we remove it by its instance id through the admin API.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from prometheus_client import Counter, Gauge
from sqlalchemy.orm import sessionmaker
from tenacity import RetryCallState, Retrying, retry_if_exception_type, retry_if_not_exception_type, wait_exponential

from servicekit.context import request_id_var
from servicekit.health_server import Heartbeat
from servicekit.inbox import Handler, PoisonMessage, apply_record
from servicekit.membership import RebalanceLog, default_instance_id, leave_group, valid_instance_id
from servicekit.settings import ConfigError, Env, KafkaSettings, ServiceSettings
from servicekit.topics import ensure_topics
from servicekit.worker import Worker

__all__ = ["ConsumerConfig", "EventConsumer", "Handler", "run_consumer"]  # Handler: also imported from here

log = logging.getLogger(__name__)

LAG = Gauge("consumer_lag", "Events in the partition not yet consumed", ["topic", "partition"])
DEAD_LETTERED = Counter("consumer_events_dead_lettered_total", "Events sent to a dead-letter topic", ["topic"])


@dataclass(frozen=True)
class ConsumerConfig:
    max_attempts: int = 5
    retry_backoff_s: float = 0.5  # doubling between the attempts of a failing event
    database_backoff_max_s: float = 10.0  # while the database is away, waits double from 2 * retry_backoff_s to this
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


class EventConsumer(Worker):
    def __init__(
        self,
        service: ServiceSettings,
        kafka: KafkaSettings,
        handlers: Mapping[str, Mapping[str, Handler]],
        config: ConsumerConfig,
    ) -> None:
        # A loop that has not polled for max_poll_interval has been dropped from the group already: restart it.
        super().__init__(Heartbeat(max_silence_s=config.max_poll_interval_ms / 1000))
        self.service = service
        self.kafka = kafka
        self.handlers = {kafka.topic(topic): hs for topic, hs in handlers.items()}
        self.config = config
        self.group_id = f"{kafka.topic_prefix}{service.service_name}"
        engine = sa.create_engine(service.database_url, **service.engine_options())  # type: ignore[arg-type]
        self.sessions = sessionmaker(engine)
        # A failing event: `max_attempts` in all, then the dead-letter topic. A poison one goes there at once; a
        # lost database is nobody's fault and is waited out below (the stop flag ends both).
        self._attempts = Retrying(
            retry=retry_if_not_exception_type((PoisonMessage, sa.exc.OperationalError)),
            stop=lambda state: state.attempt_number >= config.max_attempts or self.stopping,
            wait=wait_exponential(multiplier=config.retry_backoff_s),
            sleep=self.sleep,
            before_sleep=_log_retry("event failed, retrying"),
            reraise=True,
        )
        self._database_waits = Retrying(
            retry=retry_if_exception_type(sa.exc.OperationalError),
            stop=self.stopped,
            wait=wait_exponential(multiplier=2 * config.retry_backoff_s, max=config.database_backoff_max_s),
            sleep=self.sleep,
            # alive and waiting: a restart cannot bring the database back
            before_sleep=_log_retry("database unavailable, retrying", then=self.heartbeat.beat),
            reraise=True,
        )

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
        next_status = 0.0
        while not self.stopping:
            try:
                batches = consumer.poll(timeout_ms=1000)
            except KafkaError as error:  # the broker is away: poll again (this loop is the retry), it reconnects
                log.warning("polling failed, retrying", extra={"error": str(error)})
                self.sleep(1)
                continue
            self.heartbeat.beat()
            for partition, records in batches.items():
                for record in records:
                    self._handle(record, dlq)
                    self._commit(consumer, partition, record.offset + 1)
                    if self.stopping:
                        break
                if self.stopping:
                    break
            log_lag = time.monotonic() >= next_status
            if _report_lag(consumer, log_lag) and log_lag:
                next_status = time.monotonic() + self.config.status_interval_s

    def _commit(self, consumer: KafkaConsumer, partition: TopicPartition, offset: int) -> None:
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
        try:
            self._attempts(self._database_waits, apply_record, self.sessions, self.handlers[record.topic], record)
        except sa.exc.OperationalError:
            raise  # stopped while the database was away: left uncommitted, the next consumer retries it
        except PoisonMessage as error:
            self._dead_letter(record, dlq, error)
        except Exception as error:
            if self.stopping:
                raise  # leave it uncommitted: the next consumer retries it
            self._dead_letter(record, dlq, error)

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


def _log_retry(message: str, then: Callable[[], None] = lambda: None) -> Callable[[RetryCallState], None]:
    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(message, extra={"attempt": state.attempt_number, "error": str(error)})
        then()

    return log_retry


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


def run_consumer(
    service: ServiceSettings, kafka: KafkaSettings, handlers: Mapping[str, Mapping[str, Handler]], health_port: int
) -> None:
    EventConsumer(service, kafka, handlers, ConsumerConfig.from_env(Env())).serve(health_port)
