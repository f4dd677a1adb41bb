"""EXPLAIN (ANALYZE, BUFFERS) of the exact SQL the reservation service runs, captured from its own functions.

The service functions are called with a plain SQLAlchemy session on the benchmark's database; every
statement they send is recorded and then explained, so what is shown is what the API executes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from unittest import mock

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicekit.auth import Principal
from servicekit.prepared import PreparedStatement
from servicekit.settings import sqlalchemy_url


def _explain(url: str, call: Callable[[Session], Any]) -> list[dict[str, Any]]:
    engine = sa.create_engine(sqlalchemy_url(url))
    captured: list[tuple[str, Any, PreparedStatement | None]] = []

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        captured.append((statement, parameters, None))

    # Prepared statements go through the driver's cursor, past SQLAlchemy's events: recorded here instead.
    run_prepared = PreparedStatement.rows

    def capture_prepared(self: PreparedStatement, session: Session, parameters: dict[str, Any] | None = None) -> Any:
        captured.append((self.sql, self.arguments(parameters), self))
        return run_prepared(self, session, parameters)

    try:
        with Session(engine) as session:
            sa.event.listen(engine, "before_cursor_execute", capture)
            with mock.patch.object(PreparedStatement, "rows", capture_prepared):
                call(session)
            sa.event.remove(engine, "before_cursor_execute", capture)
            plans = []
            for statement, parameters, prepared in captured:
                if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                plan = _plan(session, statement, parameters, prepared)
                plans.append({"sql": " ".join(statement.split()), "plan": plan, "total": plan[-1] if plan else ""})
            session.rollback()
        return plans
    finally:
        engine.dispose()


def _plan(session: Session, statement: str, parameters: Any, prepared: PreparedStatement | None) -> list[str]:
    connection = session.connection()
    if prepared is None:
        return [row[0] for row in connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]
    # The plan PostgreSQL makes for the prepared statement with these values, as the service executes it.
    connection.exec_driver_sql(f"PREPARE bench_explained AS {statement}")
    arguments = f"({', '.join(['%s'] * len(parameters))})" if parameters else ""
    try:
        rows = connection.exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_explained{arguments}", tuple(parameters)
        ).all()
    finally:
        connection.exec_driver_sql("DEALLOCATE bench_explained")
    return [row[0] for row in rows]


def free_rooms(url: str, start: datetime, end: datetime, min_capacity: int, equipment: str) -> list[dict[str, Any]]:
    import reservation_service.availability.service as service

    return _explain(
        url,
        lambda session: service.free_rooms(
            session=session, start=start, end=end, page=1, per_page=50, min_capacity=min_capacity, equipment=equipment
        ),
    )


def own_list(url: str, user_id: int, role: str) -> list[dict[str, Any]]:
    import reservation_service.reservations.service as service

    viewer = Principal(user_id=user_id, email="bench@example.com", name="Bench", role=role)
    return _explain(url, lambda session: service.list_visible(session=session, viewer=viewer, page=1, per_page=50))


# --- what would help: measured on the benchmark's own copy of the data, after every other part ----------

# The free-room search as one statement (the total from count(*) OVER () instead of a second run of the
# anti-join), with the service's overlap test (the GiST index of the exclusion constraint) or with the overlap
# bounded on the existing btree index ix_reservations_room_start (room_id, start_time): a reservation lasts at
# most MAX_RESERVATION_HOURS, so one overlapping the window starts within [start - max hours, end).
# Suggestions, not the service's SQL.
ONE_STATEMENT_SEARCH_SQL = """
SELECT rooms.id, rooms.name, rooms.capacity, rooms.equipment, rooms.building, rooms.floor, rooms.timezone,
       count(*) OVER () AS total
FROM rooms
WHERE rooms.is_active AND NOT rooms.is_deleted AND rooms.capacity >= %(capacity)s
  AND rooms.equipment @> %(equipment)s::varchar(100)[]
  AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.room_id = rooms.id AND r.status = 'confirmed' AND {overlap})
ORDER BY rooms.id LIMIT 50
"""
GIST_OVERLAP = "tstzrange(r.start_time, r.occupied_until, '[)') && tstzrange(%(start)s, %(end)s, '[)')"
BTREE_OVERLAP = (
    "r.start_time >= %(start)s - make_interval(hours => %(max_hours)s) AND r.start_time < %(end)s"
    " AND r.occupied_until > %(start)s"
)


def explain_sql(url: str, sql: str, parameters: dict[str, Any]) -> list[str]:
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(sql, parameters).all()  # warm, as the service's statements are by then
            rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, parameters).all()
            return [row[0] for row in rows]
    finally:
        engine.dispose()


def with_index(url: str, ddl: str, name: str, call: Callable[[], Any]) -> Any:
    """Run `call` with a temporary index in place (created, analyzed, then dropped)."""
    engine = sa.create_engine(sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(ddl)
            connection.exec_driver_sql("ANALYZE reservations")
        try:
            return call()
        finally:
            with engine.connect() as connection:
                connection.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    finally:
        engine.dispose()
