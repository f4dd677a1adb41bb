"""Kafka plumbing shared by the relay and the consumer."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from servicekit.settings import KafkaSettings

log = logging.getLogger(__name__)


def ensure_topics(settings: KafkaSettings, names: Iterable[str], *, timeout_s: float = 60.0) -> None:
    """Create the topics if they are missing; retried until the broker answers or the timeout passes."""
    wanted = [settings.topic(name) for name in names]
    deadline = time.monotonic() + timeout_s
    delay = 0.5
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=10000)
            try:
                existing = set(admin.list_topics())
                missing = [name for name in wanted if name not in existing]
                if missing:
                    new = [NewTopic(n, settings.partitions, settings.replication_factor) for n in missing]
                    with contextlib.suppress(TopicAlreadyExistsError):  # another process was first
                        admin.create_topics(new)
                    log.info("created topics", extra={"topics": missing})
                return
            finally:
                admin.close()
        except KafkaError as error:
            if time.monotonic() > deadline:
                raise
            log.warning("kafka not reachable yet, retrying", extra={"error": str(error)})
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
