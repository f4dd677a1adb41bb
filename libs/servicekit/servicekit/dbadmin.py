"""Database administration for launchers and tests: wait for a server, create and drop databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
from psycopg2 import sql
from sqlalchemy.engine import make_url
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

CREATE_DATABASE_LOCK = 0x63726462  # "crdb"


def _server_dsn(url: str, database: str = "postgres") -> str:
    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)


def libpq_dsn(sqlalchemy_url: str) -> str:
    """A SQLAlchemy URL as libpq takes it: only the driver suffix has to go."""
    return sqlalchemy_url.replace("postgresql+psycopg2://", "postgresql://", 1)


def wait_for_server(
    url: str,
    timeout_s: float = 60.0,
    *,
    interval_s: float = 0.3,
    own_database: bool = False,
    waiting: Callable[[psycopg2.OperationalError], None] | None = None,
) -> None:
    """Until the server of `url` accepts a connection to its maintenance database (with `own_database`, to the
    database of `url` itself, which may not exist yet); after `timeout_s`, the last OperationalError.
    `waiting` is told each failure that another attempt follows."""
    dsn = libpq_dsn(url) if own_database else _server_dsn(url)

    def report(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if waiting is not None and isinstance(error, psycopg2.OperationalError):
            waiting(error)

    retrying = Retrying(
        retry=retry_if_exception_type(psycopg2.OperationalError),
        stop=stop_after_delay(timeout_s),
        wait=wait_fixed(interval_s),
        before_sleep=report,
        reraise=True,
    )
    retrying(lambda: psycopg2.connect(dsn, connect_timeout=3).close())


@contextmanager
def _server_cursor(url: str) -> Iterator[tuple[str, psycopg2.extensions.cursor]]:
    """The database name of `url`, and an autocommit cursor on its server's maintenance database."""
    name = make_url(url).database
    if not name:
        raise ValueError(f"no database name in {url!r}")
    connection = psycopg2.connect(_server_dsn(url))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield name, cursor
    finally:
        connection.close()


def ensure_database(url: str) -> None:
    with _server_cursor(url) as (name, cursor):
        # Launchers start together; the lock makes check-then-create safe between them.
        cursor.execute("SELECT pg_advisory_lock(%s)", (CREATE_DATABASE_LOCK,))
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    with _server_cursor(url) as (name, cursor):
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
