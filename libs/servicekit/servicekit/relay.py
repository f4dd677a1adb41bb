"""The outbox relay: publishes committed outbox rows to Kafka in order, one active relay per service."""

from __future__ import annotations

import logging
import select
import time
from dataclasses import dataclass, field

import psycopg2
import psycopg2.extensions
from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata
from prometheus_client import Counter, Gauge
from tenacity import wait_random_exponential

from servicekit.health_server import Heartbeat
from servicekit.leader import LeaderConfig, LeaderWorker
from servicekit.outbox import NOTIFY_CHANNEL
from servicekit.serialization import dumps
from servicekit.settings import Env, KafkaSettings, ServiceSettings
from servicekit.topics import ensure_topics

log = logging.getLogger(__name__)

PUBLISHED = Counter("outbox_events_published_total", "Outbox events published to Kafka")
BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published")
OLDEST_AGE = Gauge("outbox_oldest_unsent_age_seconds", "Age of the oldest unpublished outbox row")
LAST_PUBLISH = Gauge("outbox_relay_last_publish_timestamp_seconds", "When this relay last published an event")


@dataclass(frozen=True)
class RelayConfig:
    batch_size: int = 500
    idle_wait_s: float = 1.0
    max_backoff_s: float = 30.0
    retention_hours: float = 72.0  # sent rows are kept this long (for inspection), then pruned
    status_interval_s: float = 60.0  # the active relay logs "outbox status" this often (log-based alerts)
    # The active relay touches its lock session at least every idle_wait_s, well inside leader.dead_after_s.
    leader: LeaderConfig = field(default_factory=LeaderConfig)

    @classmethod
    def from_env(cls, env: Env) -> RelayConfig:
        return cls(
            batch_size=env.integer("RELAY_BATCH_SIZE", 500, minimum=1),
            max_backoff_s=env.number("RELAY_MAX_BACKOFF_SECONDS", 30.0),
            retention_hours=env.number("OUTBOX_RETENTION_HOURS", 72.0),
            status_interval_s=env.number("RELAY_STATUS_SECONDS", 60.0),
            leader=LeaderConfig.from_env(env),
        )


class Relay(LeaderWorker):
    """The active relay of a service; the others stand by. A lost database or broker means starting over after
    a backoff with full jitter (0.5 s doubling, at most `max_backoff_s`), so replicas do not retry in step."""

    def __init__(self, service: ServiceSettings, kafka: KafkaSettings, topics: list[str], config: RelayConfig) -> None:
        super().__init__(
            "relay",
            f"outbox-relay:{service.service_name}",
            service.database_url,
            config.leader,
            Heartbeat(),
            errors=(psycopg2.Error, KafkaError),
            wait=wait_random_exponential(multiplier=0.5, max=config.max_backoff_s),
        )
        self.service = service
        self.kafka = kafka
        self.topics = topics
        self.config = config
        self._producer: KafkaProducer | None = None
        self._last_publish: float | None = None
        self._backlog: tuple[int, float] = (0, 0.0)  # pending rows and the oldest one's age, at the last batch

    def run(self) -> None:
        ensure_topics(self.kafka, self.topics)
        super().run()
        if self._producer is not None:
            self._producer.close(timeout=10)

    def interrupted(self, error: BaseException) -> None:
        self._drop_producer()  # start clean: a producer that lost the broker may hold stale state

    def _drop_producer(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=0)
            self._producer = None

    def _producer_or_new(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self.kafka.bootstrap_servers,
                reconnect_backoff_max_ms=2000,
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                max_block_ms=10000,
            )
        return self._producer

    def lead(self, conn: psycopg2.extensions.connection) -> None:
        with conn.cursor() as cur:
            cur.execute(f"LISTEN {NOTIFY_CHANNEL}")
        conn.commit()
        log.info("relay active")
        next_prune = next_status = 0.0
        while not self.stopping:
            if time.monotonic() >= next_prune:
                self._prune(conn)
                next_prune = time.monotonic() + 300
            published = self._publish_batch(conn)
            if time.monotonic() >= next_status:
                self._log_status()
                next_status = time.monotonic() + self.config.status_interval_s
            self.heartbeat.beat(active=True)
            if published < self.config.batch_size:
                self._wait_for_notify(conn)

    def _publish_batch(self, conn: psycopg2.extensions.connection) -> int:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT id, topic, key, payload, count(*) OVER (), min(created_at) OVER () FROM outbox"
                " WHERE sent_at IS NULL ORDER BY id LIMIT %s",
                (self.config.batch_size,),
            )
            rows = cur.fetchall()
        if not rows:
            conn.commit()
            self._set_backlog(0, 0.0)
            return 0
        self._set_backlog(rows[0][4], max(0.0, time.time() - rows[0][5].timestamp()))
        producer = self._producer_or_new()
        futures = []
        for row_id, topic, key, payload, _, _ in rows:
            headers = [("event_type", payload["event_type"].encode())]
            if payload.get("request_id"):
                headers.append(("request_id", payload["request_id"].encode()))
            value = dumps(payload).encode()
            future = producer.send(self.kafka.topic(topic), key=key.encode(), value=value, headers=headers)
            futures.append((row_id, future))
        producer.flush(timeout=30)
        return self._mark_sent(conn, futures)

    def _mark_sent(self, conn: psycopg2.extensions.connection, futures: list[tuple[int, FutureRecordMetadata]]) -> int:
        """After Kafka answered for the batch: mark the acknowledged rows sent; how many."""
        sent: list[int] = []
        failure: Exception | None = None
        for row_id, future in futures:
            # Only the unbroken prefix counts, so a later row never overtakes an earlier failed one.
            if not future.succeeded():
                failure = future.exception or KafkaError("publish timed out")
                break
            sent.append(row_id)
        if sent:
            with conn.cursor() as cur:
                cur.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY(%s)", (sent,))
            PUBLISHED.inc(len(sent))
            self._last_publish = time.time()
            LAST_PUBLISH.set(self._last_publish)
        conn.commit()
        if failure is not None:
            raise failure if isinstance(failure, KafkaError) else KafkaError(str(failure))
        return len(sent)

    def _set_backlog(self, pending: int, oldest_age_s: float) -> None:
        self._backlog = (pending, oldest_age_s)
        BACKLOG.set(pending)
        OLDEST_AGE.set(oldest_age_s)

    def _log_status(self) -> None:
        """What the log-based alerts read: the backlog seen by the last batch and the time since a publish."""
        since = None if self._last_publish is None else round(time.time() - self._last_publish, 1)
        pending, oldest_age_s = self._backlog
        log.info(
            "outbox status",
            extra={
                "outbox_pending": pending,
                "outbox_oldest_age_s": round(oldest_age_s, 1),
                "last_publish_age_s": since,
            },
        )

    def _prune(self, conn: psycopg2.extensions.connection) -> None:
        with conn.cursor() as cur:
            cur.execute(
                "DELETE FROM outbox WHERE sent_at < now() - make_interval(secs => %s)",
                (self.config.retention_hours * 3600,),
            )
            pruned = cur.rowcount
        conn.commit()
        if pruned:
            log.info("pruned sent outbox rows", extra={"rows": pruned})

    def _wait_for_notify(self, conn: psycopg2.extensions.connection) -> None:
        if not conn.notifies:
            select.select([conn], [], [], self.config.idle_wait_s)
            conn.poll()
        conn.notifies.clear()


def run_relay(service: ServiceSettings, kafka: KafkaSettings, topics: list[str], health_port: int) -> None:
    Relay(service, kafka, topics, RelayConfig.from_env(Env())).serve(health_port)
