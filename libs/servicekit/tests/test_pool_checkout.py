"""A pooled connection whose server ended the session is replaced at checkout, without a round trip and
without a failed request (servicekit.db's checkout check, which stands in for pre-ping)."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

import servicekit.db  # noqa: F401  (registers the checkout check on every pool)
from servicekit.settings import sqlalchemy_url
from servicekit_testing import postgres_server_url


@pytest.fixture
def engines() -> Iterator[tuple[sa.Engine, sa.Engine]]:
    url = sqlalchemy_url(postgres_server_url())
    pooled = sa.create_engine(url, pool_size=1, max_overflow=0)
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
    yield pooled, admin
    pooled.dispose()
    admin.dispose()


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(admin: sa.Engine, pid: int) -> None:
    with admin.connect() as connection:
        assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        deadline = time.monotonic() + 30
        while connection.execute(
            sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ).scalar():
            assert time.monotonic() < deadline, "the backend did not end"
            time.sleep(0.05)


def test_a_connection_the_server_ended_is_replaced_at_checkout(engines: tuple[sa.Engine, sa.Engine]) -> None:
    pooled, admin = engines
    first = _backend_pid(pooled)
    _terminate(admin, first)
    second = _backend_pid(pooled)  # without the check: OperationalError, "terminating connection ..."
    assert second != first


def test_the_check_works_for_descriptors_past_1023(engines: tuple[sa.Engine, sa.Engine]) -> None:
    """select() cannot watch a descriptor of 1024 or more; a busy process has such descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    pooled, admin = engines
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        first = _backend_pid(pooled)
        with pooled.connect() as connection:
            assert connection.connection.dbapi_connection.fileno() >= 1024  # type: ignore[union-attr]
        _terminate(admin, first)
        assert _backend_pid(pooled) != first
    finally:
        for descriptor in filler:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
