"""The transactional outbox: an event is written in the same transaction as the change it announces."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, Session, mapped_column

from servicekit.context import request_id_var
from servicekit.db import db, utcnow

NOTIFY_CHANNEL = "outbox"
SCHEMA_VERSION = 1


class OutboxEvent(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    topic: Mapped[str] = mapped_column(sa.String(200))
    key: Mapped[str] = mapped_column(sa.String(200))
    event_type: Mapped[str] = mapped_column(sa.String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Aggregate(Protocol):
    id: int
    version: int


@dataclass(frozen=True)
class EventStream:
    """Where a service announces the changes to one kind of aggregate: who says it, on which topic."""

    producer: str
    topic: str

    def publish(
        self,
        session: Session,
        aggregate: Aggregate,
        event_type: str,
        data: Callable[[], dict[str, Any]],
        *,
        flush: bool = True,
    ) -> OutboxEvent:
        """Stage the event for the change just made; `data` is read after the flush (ids and defaults set).
        Without `flush` (a row about to be deleted), the event describes the object as it is in memory."""
        if flush:
            session.flush()
        event = OutboxEvent(**self.row(aggregate, event_type, data()))
        session.add(event)
        return event

    def row(self, aggregate: Aggregate, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """The outbox row of an event on this stream: the envelope every consumer reads, keyed by the aggregate
        (also for a write path that inserts it with its own SQL)."""
        aggregate_id, version = aggregate.id, aggregate.version
        event_id = uuid.uuid4()
        now = utcnow()
        payload = {
            "event_id": str(event_id),
            "event_type": event_type,
            "occurred_at": now.isoformat(),
            "producer": self.producer,
            "schema_version": SCHEMA_VERSION,
            "request_id": request_id_var.get(),
            "aggregate_id": aggregate_id,
            "version": version,
            "data": data,
        }
        row = {"event_id": event_id, "topic": self.topic, "key": str(aggregate_id), "event_type": event_type}
        return {**row, "payload": payload, "created_at": now}


def create_outbox_table(op: Operations) -> None:
    """Migration step shared by every service that publishes events."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["id"], postgresql_where=sa.text("sent_at IS NULL"))
    # Wake the relay at commit time instead of making it poll.
    op.execute(
        f"""
        CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('{NOTIFY_CHANNEL}', ''); RETURN NULL; END $$;
        CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
            FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
        """
    )


def create_processed_events_table(op: Operations) -> None:
    """Migration step for services that consume events: the record of what was applied."""
    op.create_table(
        "processed_events",
        sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
