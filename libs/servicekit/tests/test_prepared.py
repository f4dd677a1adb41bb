"""servicekit.prepared: a statement is prepared once per connection and executed by name after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicekit.prepared import PreparedStatement, prepared
from servicekit_testing import one_connection_engine, terminate_backend

PROBE = sa.table("prepared_probe", sa.column("id", sa.Integer), sa.column("kind", sa.String))
BY_KIND = sa.select(PROBE.c.id, PROBE.c.kind).where(PROBE.c.kind == "room", PROBE.c.id > sa.bindparam("above"))


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    with one_connection_engine(
        "DROP TABLE IF EXISTS prepared_probe",
        "CREATE TABLE prepared_probe (id integer PRIMARY KEY, kind text)",
        "INSERT INTO prepared_probe VALUES (1, 'room'), (2, 'user'), (3, 'room')",
        cleanup="DROP TABLE prepared_probe",
    ) as engine:
        yield engine


def _prepared_here(session: Session) -> list[str]:
    return list(session.execute(sa.text("SELECT name FROM pg_prepared_statements")).scalars())


def test_rows_come_back_by_name_and_the_statement_is_prepared_once(engine: sa.Engine) -> None:
    statement = prepared(BY_KIND)
    with Session(engine) as session:
        rows = statement.rows(session, {"above": 0})
        assert [(row.id, row.kind) for row in rows] == [(1, "room"), (3, "room")]  # the literal 'room' kept
        assert [tuple(row) for row in statement.rows(session, {"above": 1})] == [(3, "room")]
        assert _prepared_here(session) == [statement.name]
    with Session(engine) as session:  # the same pooled connection: nothing prepared again
        assert statement.rows(session, {"above": 2})[0].id == 3
        assert _prepared_here(session) == [statement.name]
    assert prepared(BY_KIND) is statement


def test_plain_sql_with_named_parameters(engine: sa.Engine) -> None:
    statement = PreparedStatement("SELECT kind FROM prepared_probe WHERE id = $1", ("id",))
    with Session(engine) as session:
        assert statement.rows(session, {"id": 2})[0].kind == "user"
        assert statement.rows(session, {"id": 9}) == []


def test_a_new_connection_prepares_again(engine: sa.Engine) -> None:
    """A connection replaced after its server ended it has nothing prepared: the statement is prepared there."""
    statement = prepared(BY_KIND)
    with Session(engine) as session:
        assert len(statement.rows(session, {"above": 0})) == 2
        pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    terminate_backend(pid)
    with Session(engine) as session:
        assert len(statement.rows(session, {"above": 0})) == 2
        assert session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != pid
