"""Database administration for launchers and tests: wait for a server, create and drop databases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
from psycopg2 import sql
from sqlalchemy.engine import make_url

CREATE_DATABASE_LOCK = 0x63726462  # "crdb"


def _server_dsn(url: str, database: str = "postgres") -> str:
    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)


def wait_for_server(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg2.connect(_server_dsn(url), connect_timeout=2).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


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
