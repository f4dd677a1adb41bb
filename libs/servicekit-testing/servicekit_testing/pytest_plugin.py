"""Fixtures every service's suite shares; a suite defines `database_url` and `app` itself.

Enable with `pytest_plugins = ["servicekit_testing.pytest_plugin"]` in the suite's conftest.py (not an entry point:
the autouse fixtures need the suite's `database_url`, which the system tests do not have).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from servicekit.settings import ServiceSettings
from servicekit_testing import AUDIENCE, ISSUER, TestKeys, empty_all, jwks_server


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys()


@pytest.fixture(scope="session")
def jwks_url(keys: TestKeys) -> Iterator[str]:
    with jwks_server(keys.jwks()) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def clean_database(engine: sa.Engine) -> None:
    empty_all(engine)


def service_settings(name: str, database_url: str) -> ServiceSettings:
    return ServiceSettings(name, database_url, "INFO", ISSUER, AUDIENCE)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin(keys: TestKeys) -> dict[str, str]:
    return keys.headers(user_id=1, role="admin")


@pytest.fixture
def employee(keys: TestKeys) -> dict[str, str]:
    return keys.headers(user_id=2, role="employee")
