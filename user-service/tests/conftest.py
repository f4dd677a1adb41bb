from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from servicekit_testing import TestKeys, migrated_database
from servicekit_testing.pytest_plugin import service_settings
from user_service import MIGRATIONS_DIR, create_app
from user_service.config import Settings

pytest_plugins = ["servicekit_testing.pytest_plugin"]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with migrated_database("user", MIGRATIONS_DIR) as url:
        yield url


@pytest.fixture(scope="session")
def previous_keys() -> TestKeys:
    return TestKeys()


@pytest.fixture(scope="session")
def settings(database_url: str, keys: TestKeys, previous_keys: TestKeys) -> Settings:
    previous_public = previous_keys.public_pem
    return Settings(
        service=service_settings("user-service", database_url),
        signing_key_pem=keys.private_pem,
        previous_public_keys_pem=previous_public,
        access_token_ttl_s=900,
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> Flask:
    return create_app(settings)
