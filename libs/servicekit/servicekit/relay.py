"""The outbox relay: publishes committed outbox rows to Kafka in order, one active relay per service."""

from __future__ import annotations

import logging
import os
import random
import select
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import psycopg2.extensions
from kafka import KafkaProducer
from kafka.errors import KafkaError
from prometheus_client import Counter, Gauge

from servicekit.health_server import Heartbeat, serve_health
from servicekit.leader import LeaderConfig, acquire, connect_lock_session
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
    # Fault injection for the crash tests only: exit right after Kafka acknowledged the Nth batch, before the
    # rows are marked sent, so a restart publishes them again. 0 (the default) never does.
    crash_after_publish: int = 0
    # The active relay touches its lock session at least every idle_wait_s, well inside leader.dead_after_s.
    leader: LeaderConfig = field(default_factory=LeaderConfig)

    @classmethod
    def from_env(cls, env: Env) -> RelayConfig:
        return cls(
            batch_size=env.integer("RELAY_BATCH_SIZE", 500, minimum=1),
            max_backoff_s=env.number("RELAY_MAX_BACKOFF_SECONDS", 30.0),
            retention_hours=env.number("OUTBOX_RETENTION_HOURS", 72.0),
            status_interval_s=env.number("RELAY_STATUS_SECONDS", 60.0),
            crash_after_publish=env.integer("FAULT_CRASH_AFTER_PUBLISH", 0, minimum=0),
            leader=LeaderConfig.from_env(env),
        )


class Relay:
    def __init__(self, service: ServiceSettings, kafka: KafkaSettings, topics: list[str], config: RelayConfig) -> None:
        self.service = service
        self.kafka = kafka
        self.topics = topics
        self.config = config
        self.heartbeat = Heartbeat()
        self.stopping = False
        self._producer: KafkaProducer | None = None
        self._batches = 0
        self._last_publish: float | None = None
        self._backlog: tuple[int, float] = (0, 0.0)  # pending rows and the oldest one's age, at the last batch

    def stop(self, *_: Any) -> None:
        self.stopping = True

    def run(self) -> None:
        ensure_topics(self.kafka, self.topics)
        backoff = 0.5
        while not self.stopping:
            try:
                self._run_connected()
                backoff = 0.5
            except (psycopg2.Error, KafkaError) as error:
                log.warning("relay interrupted, retrying", extra={"error": str(error), "retry_in_s": backoff})
                self._drop_producer()  # start clean: a producer that lost the broker may hold stale state
                self._sleep(backoff * random.uniform(0.5, 1.5))
                backoff = min(backoff * 2, self.config.max_backoff_s)
        if self._producer is not None:
            self._producer.close(timeout=10)

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

    def _run_connected(self) -> None:
        conn = connect_lock_session(self.service.database_url, self.config.leader)
        try:
            if not self._acquire_lock(conn):
                return
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
        finally:
            conn.close()

    def _acquire_lock(self, conn: psycopg2.extensions.connection) -> bool:
        """Standby until the advisory lock is ours; it is released when our session ends."""
        return acquire(
            conn,
            f"outbox-relay:{self.service.service_name}",
            self.config.leader,
            stopping=lambda: self.stopping,
            sleep=self._sleep,
            waiting=lambda: self.heartbeat.beat(active=False),
        )

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
        self._batches += 1
        if self._batches == self.config.crash_after_publish:
            log.warning("fault injection: exiting after publishing, before marking the rows sent")
            os._exit(70)
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

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, deadline - time.monotonic()))


def run_relay(service: ServiceSettings, kafka: KafkaSettings, topics: list[str], health_port: int) -> None:
    relay = Relay(service, kafka, topics, RelayConfig.from_env(Env()))
    signal.signal(signal.SIGTERM, relay.stop)
    signal.signal(signal.SIGINT, relay.stop)
    serve_health(health_port, relay.heartbeat)
    relay.run()
