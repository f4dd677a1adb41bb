"""A pooled connection whose server ended the session is replaced at checkout, without a round trip and
without a failed request (servicekit.db's checkout check, which stands in for pre-ping)."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

import servicekit.db  # noqa: F401  (registers the checkout check on every pool)
from servicekit_testing import one_connection_engine, terminate_backend


@pytest.fixture
def pooled() -> Iterator[sa.Engine]:
    with one_connection_engine() as engine:
        yield engine


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_the_server_ended_is_replaced_at_checkout(pooled: sa.Engine) -> None:
    first = _backend_pid(pooled)
    terminate_backend(first)
    second = _backend_pid(pooled)  # without the check: OperationalError, "terminating connection ..."
    assert second != first


def test_the_check_works_for_descriptors_past_1023(pooled: sa.Engine) -> None:
    """select() cannot watch a descriptor of 1024 or more; a busy process has such descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        first = _backend_pid(pooled)
        with pooled.connect() as connection:
            assert connection.connection.dbapi_connection.fileno() >= 1024  # type: ignore[union-attr]
        terminate_backend(first)
        assert _backend_pid(pooled) != first
    finally:
        for descriptor in filler:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
