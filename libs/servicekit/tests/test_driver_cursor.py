"""servicekit.db.driver_cursor: plain SQL in the session's transaction, failing as any other statement does."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg2.errors
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicekit.db import driver_cursor
from servicekit_testing import one_connection_engine, terminate_backend


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    with one_connection_engine(
        "DROP TABLE IF EXISTS driver_cursor_probe",
        "CREATE TABLE driver_cursor_probe (id integer PRIMARY KEY)",
        cleanup="DROP TABLE driver_cursor_probe",
    ) as engine:
        yield engine


def test_statements_run_in_the_sessions_transaction(engine: sa.Engine) -> None:
    with Session(engine) as session:
        with driver_cursor(session) as cursor:
            cursor.execute("INSERT INTO driver_cursor_probe (id) VALUES (%s)", (1,))
        assert session.execute(sa.text("SELECT count(*) FROM driver_cursor_probe")).scalar() == 1
        session.rollback()
        assert session.execute(sa.text("SELECT count(*) FROM driver_cursor_probe")).scalar() == 0


def test_a_database_error_comes_out_as_sqlalchemys(engine: sa.Engine) -> None:
    with Session(engine) as session:
        with driver_cursor(session) as cursor:
            cursor.execute("INSERT INTO driver_cursor_probe (id) VALUES (%s)", (1,))
        with pytest.raises(sa.exc.IntegrityError) as raised, driver_cursor(session) as cursor:
            cursor.execute("INSERT INTO driver_cursor_probe (id) VALUES (%s)", (1,))
        assert isinstance(raised.value.orig, psycopg2.errors.UniqueViolation)


def test_a_lost_server_invalidates_the_connection(engine: sa.Engine) -> None:
    """As for any statement SQLAlchemy sends: OperationalError (a 503 in the services), and the pool does not
    hand out the dead connection again."""
    with Session(engine) as session:
        pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        terminate_backend(pid)
        with pytest.raises(sa.exc.OperationalError) as raised, driver_cursor(session) as cursor:
            cursor.execute("SELECT 1")
        assert raised.value.connection_invalidated
    with Session(engine) as session:  # a fresh connection, not the dead one
        assert session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != pid
