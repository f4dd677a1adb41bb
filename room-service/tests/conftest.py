from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from room_service import MIGRATIONS_DIR, create_app
from room_service.config import Settings
from servicekit_testing import migrated_database
from servicekit_testing.pytest_plugin import service_settings

pytest_plugins = ["servicekit_testing.pytest_plugin"]

MakeRoom = Callable[..., dict[str, Any]]
ReadOutbox = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with migrated_database("room", MIGRATIONS_DIR) as url:
        yield url


@pytest.fixture(scope="session")
def app(database_url: str, jwks_url: str) -> Flask:
    return create_app(Settings(service=service_settings("room-service", database_url), jwks_url=jwks_url))


@pytest.fixture
def make_room(client: FlaskClient, admin: dict[str, str]) -> MakeRoom:
    """Create a room through the API (name and capacity filled in unless given); its body."""
    counter = iter(range(1, 1_000_000))

    def make(**fields: Any) -> dict[str, Any]:
        body = {"name": f"Room {next(counter)}", "capacity": 8, **fields}
        response = client.post("/rooms", json=body, headers=admin)
        assert response.status_code == 201, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    return make


@pytest.fixture
def outbox(engine: sa.Engine) -> ReadOutbox:
    """The staged event envelopes in outbox order, optionally of one type only."""

    def read(event_type: str | None = None) -> list[dict[str, Any]]:
        query = sa.text("SELECT payload FROM outbox WHERE event_type = coalesce(:type, event_type) ORDER BY id")
        with engine.connect() as connection:
            return list(connection.scalars(query, {"type": event_type}))

    return read
