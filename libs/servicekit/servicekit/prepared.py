"""Statements PostgreSQL plans once per connection: PREPARE on a connection's first use, EXECUTE after.

psycopg2 sends every statement as text, so PostgreSQL plans it anew each time; for the hot reads (a page of a
list with its total, a room's day, the user check before every request) planning cost as much CPU as running
them. A prepared statement is planned on its first executions and then, where PostgreSQL finds its generic
plan as good, not at all. Only for statements built once (module level, or cached per combination of
filters): the name is derived from the SQL text, and each connection remembers what it has prepared.
"""

from __future__ import annotations

import hashlib
from collections import namedtuple
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import psycopg2 as postgresql_psycopg2
from sqlalchemy.orm import Session

from servicekit.db import driver_cursor

# The same SQL SQLAlchemy sends, with $1, $2 ... for parameters, as PREPARE wants them.
_DIALECT = postgresql_psycopg2.dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


class PreparedStatement:
    """One statement, prepared per connection under a name derived from its SQL."""

    def __init__(self, statement: sa.ClauseElement | str, parameter_names: tuple[str, ...] = ()) -> None:
        if isinstance(statement, str):  # plain SQL with $1, $2 ... and the names of the values they take
            sql, self._order, self._defaults = statement, parameter_names, {}
        else:
            compiled: Any = statement.compile(dialect=_DIALECT)
            sql, self._order = str(compiled), tuple(compiled.positiontup or ())
            self._defaults = {name: value for name, value in compiled.params.items() if value is not None}
        self.sql = sql  # with $1, $2 ... (what bench/explain.py prepares to explain it)
        self.name = "p_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:20]
        self._prepare = f"PREPARE {self.name} AS {sql}"
        arguments = f"({', '.join(['%s'] * len(self._order))})" if self._order else ""
        self._execute = f"EXECUTE {self.name}{arguments}"
        self._row_type: Any = None

    def arguments(self, parameters: dict[str, Any] | None = None) -> list[Any]:
        """The values for $1, $2 ... from the parameters by name (and the statement's own constants)."""
        values = {**self._defaults, **(parameters or {})}
        return [values[name] for name in self._order]

    def rows(self, session: Session, parameters: dict[str, Any] | None = None) -> list[Any]:
        """The rows, as named tuples (columns by name or position)."""
        connection = session.connection()
        prepared: set[str] = connection.connection.info.setdefault("prepared_statements", set())
        with driver_cursor(session) as cursor:
            if self.name not in prepared:
                cursor.execute(self._prepare)
                prepared.add(self.name)
            cursor.execute(self._execute, self.arguments(parameters))
            if self._row_type is None:
                self._row_type = namedtuple("Row", [column.name for column in cursor.description], rename=True)  # type: ignore[misc]
            return [self._row_type._make(row) for row in cursor.fetchall()]


@lru_cache(maxsize=256)
def prepared(statement: sa.ClauseElement) -> PreparedStatement:
    """The prepared form of a statement built once (the statement object is the key)."""
    return PreparedStatement(statement)
