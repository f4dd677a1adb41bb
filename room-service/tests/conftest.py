from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from room_service import MIGRATIONS_DIR, create_app
from room_service.config import Settings
from servicekit.pytest_plugin import service_settings
from servicekit.testing import migrated_database

pytest_plugins = ["servicekit.pytest_plugin"]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with migrated_database("room", MIGRATIONS_DIR) as url:
        yield url


@pytest.fixture(scope="session")
def app(database_url: str, jwks_url: str) -> Flask:
    return create_app(Settings(service=service_settings("room-service", database_url), jwks_url=jwks_url))
