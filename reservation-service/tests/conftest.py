from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from reservation_service import MIGRATIONS_DIR, create_app
from reservation_service.config import Settings
from reservation_service.replica.handlers import HANDLERS
from servicekit.inbox import apply_once
from servicekit_testing import migrated_database
from servicekit_testing.pytest_plugin import service_settings

pytest_plugins = ["servicekit_testing.pytest_plugin"]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with migrated_database("reservation", MIGRATIONS_DIR) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str, jwks_url: str) -> Settings:
    return Settings(
        service=service_settings("reservation-service", database_url),
        jwks_url=jwks_url,
        max_reservation_hours=12,
        calendar_feed_key="test-calendar-feed-key-0123456789abcdef",
        public_base_url="https://rooms.example.com",
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> Flask:
    return create_app(settings)


def room_event(room_id: int, event_type: str = "room_created", version: int = 1, **data: Any) -> dict[str, Any]:
    state = {
        "id": room_id,
        "name": f"Room {room_id}",
        "capacity": 8,
        "equipment": [],
        "timezone": "UTC",
        "is_active": True,
        # No booking horizon unless a test sets one: many tests book in fixed years ahead. (An event without
        # the field means the contract's default of 365 days: see test_policies.py.)
        "max_days_ahead": None,
    }
    state.update(data)
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": "2026-01-01T00:00:00+00:00",
        "producer": "room-service",
        "schema_version": 1,
        "request_id": "test",
        "aggregate_id": room_id,
        "version": version,
        "data": state,
    }


def user_deleted(user_id: int) -> dict[str, Any]:
    envelope = room_event(user_id, "user_deleted", version=2)
    envelope.update(producer="user-service", data={"id": user_id, "email": f"u{user_id}@example.com"})
    return envelope


@pytest.fixture
def apply_event(engine: sa.Engine) -> Callable[[dict[str, Any]], bool]:
    """Apply an event exactly as the consumer does, in its own transaction."""

    def apply(envelope: dict[str, Any], topic: str = "room_events") -> bool:
        with Session(engine) as session:
            return apply_once(session, topic, envelope, HANDLERS[topic])

    return apply


@pytest.fixture
def room(apply_event: Callable[[dict[str, Any]], bool]) -> int:
    apply_event(room_event(1))
    return 1
