"""How PostgreSQL plans book_reservation() (migrations 0008, 0011): its statements are left to the plan cache,
and the overlap test is still planned with each call's instants on a room with a long history."""

from __future__ import annotations

import re
from collections import deque
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

BOOK = (
    "SELECT outcome FROM book_reservation(%s, 2, %s, %s, %s, 'plans', 2, NULL, now(), 'shared', NULL,"
    " gen_random_uuid(), 'reservation_events', 'reservation_created', '{\"data\": {}}'::jsonb)"
)
HISTORY = sa.text(
    "INSERT INTO reservations (room_id, user_id, start_time, end_time, occupied_until, purpose, attendees, status,"
    " version, created_at, updated_at)"
    " SELECT :room, 3, s, s + interval '1 hour', s + interval '1 hour', 'past', 2, 'confirmed', 1, s, s"
    " FROM generate_series(now() - interval '3000 hours', now() - interval '2 hours', interval '1 hour') AS s"
)


def test_the_function_does_not_force_a_plan_per_call(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        config = connection.scalar(sa.text("SELECT proconfig FROM pg_proc WHERE proname = 'book_reservation'"))
    assert config is None  # no plan_cache_mode: the inserts and checks reuse their plans


def test_the_overlap_test_is_planned_with_each_calls_instants(engine: sa.Engine, room: int) -> None:
    with engine.begin() as connection:
        connection.execute(HISTORY, {"room": room})
        connection.exec_driver_sql("ANALYZE reservations")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=10)
    calls = 8  # the plan cache weighs a generic plan from the sixth call on
    connection = engine.raw_connection()  # one session (a function's plans are cached per session); notices
    try:
        cursor = connection.cursor()
        for setting in (
            "LOAD 'auto_explain'",
            "SET auto_explain.log_min_duration = 0",
            "SET auto_explain.log_nested_statements = on",
            "SET client_min_messages = log",  # the plans come back as notices
        ):
            cursor.execute(setting)
        notices: deque[str] = deque()  # a list would keep only the last 50
        connection.dbapi_connection.notices = notices  # type: ignore[union-attr]
        for i in range(calls):
            slot = start + timedelta(hours=i)
            cursor.execute(BOOK, (room, slot, slot + timedelta(hours=1), slot + timedelta(hours=1)))
            assert cursor.fetchone() == ("booked",)
        connection.rollback()
    finally:
        connection.invalidate()  # closed, not back to the pool with its settings and notices
    overlap_plans = [notice for notice in notices if "'conflict'" in notice]
    assert len(overlap_plans) == calls
    for plan in overlap_plans:
        # Planned with the instants: the room's upcoming reservations through (room_id, occupied_until), about
        # one row expected; a generic plan would expect a share of the room's 3,000 past ones.
        assert "ix_reservations_room_occupied_until" in plan, plan
        estimated = [int(rows) for rows in re.findall(r"rows=(\d+)", plan)]
        assert estimated and max(estimated) < 10, plan
