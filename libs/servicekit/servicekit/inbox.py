"""The receiving end of the events: an envelope parsed, and applied once with its `processed_events` record."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from kafka.consumer.fetcher import ConsumerRecord
from prometheus_client import Counter
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("servicekit.consumer")  # the consumer's own lines

APPLIED = Counter("consumer_events_applied_total", "Events applied", ["topic", "event_type"])
DUPLICATES = Counter("consumer_events_duplicate_total", "Redelivered events skipped", ["topic"])

Handler = Callable[[Session, Mapping[str, Any]], None]

processed_events = sa.table("processed_events", sa.column("event_id"), sa.column("topic"), sa.column("processed_at"))


class PoisonMessage(Exception):
    """A message that can never be applied (not JSON, no event id): straight to the dead-letter topic."""


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


def apply_record(sessions: sessionmaker[Session], handlers: Mapping[str, Handler], record: ConsumerRecord) -> None:
    """Apply a record from Kafka once (PoisonMessage if it is not an event we could ever apply), counted and logged."""
    envelope = parse_envelope(record.value)
    with sessions() as session:
        applied = apply_once(session, record.topic, envelope, handlers)
    if applied:
        APPLIED.labels(record.topic, envelope["event_type"]).inc()
        log.info("event applied", extra=_describe(record, envelope))
    else:
        DUPLICATES.labels(record.topic).inc()
        log.info("duplicate event skipped", extra=_describe(record, envelope))


def _describe(record: ConsumerRecord, envelope: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "event_id": envelope.get("event_id"),
        "event_type": envelope.get("event_type"),
        "aggregate_id": envelope.get("aggregate_id"),
    }
