"""Kafka plumbing shared by the relay and the consumer."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from servicekit.settings import KafkaSettings

log = logging.getLogger(__name__)


def ensure_topics(settings: KafkaSettings, names: Iterable[str], *, timeout_s: float = 60.0) -> None:
    """Create the topics if they are missing; retried (0.5 s doubling to 5 s) until the broker answers, or the
    KafkaError of the last attempt after `timeout_s`."""
    retrying = Retrying(
        retry=retry_if_exception_type(KafkaError),
        stop=stop_after_delay(timeout_s),
        wait=wait_exponential(multiplier=0.5, max=5.0),
        before_sleep=_log_unreachable,
        reraise=True,
    )
    retrying(_create_missing, settings, [settings.topic(name) for name in names])


def _create_missing(settings: KafkaSettings, wanted: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=10000)
    try:
        existing = set(admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if missing:
            new = [NewTopic(n, settings.partitions, settings.replication_factor) for n in missing]
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was first
                admin.create_topics(new)
            log.info("created topics", extra={"topics": missing})
    finally:
        admin.close()


def _log_unreachable(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("kafka not reachable yet, retrying", extra={"error": str(error)})
