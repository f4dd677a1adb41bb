"""The second ceiling: the database work of a booking, and nothing else, in the least code that does it.

One transaction on the reservation service's own database (same tables, indexes, constraint and trigger, same
data): the room looked up in the replica, the reservation inserted under the exclusion constraint on
[start_time, occupied_until) (a violation is 409), the `reservation_created` outbox row, COMMIT. psycopg2,
one connection per worker, no ORM, no token check, no validation, no policies, no logging: run under the
services' gunicorn settings behind the gateway's NGINX configuration (bench.ceiling.CeilingApp), it is
what a booking would cost if the service did only the work the database has to do.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from flask import Flask, jsonify, request

ROOM_SQL = "SELECT buffer_minutes FROM rooms WHERE id = %s AND is_active AND NOT is_deleted"
INSERT_SQL = """
INSERT INTO reservations (room_id, user_id, start_time, end_time, occupied_until, purpose, attendees, status,
                          version, created_at, updated_at)
VALUES (%(room_id)s, %(user_id)s, %(start_time)s, %(end_time)s,
        %(end_time)s::timestamptz + make_interval(mins => %(buffer)s), %(purpose)s, %(attendees)s, 'confirmed',
        1, now(), now())
RETURNING id, created_at
"""
OUTBOX_SQL = (
    "INSERT INTO outbox (event_id, topic, key, event_type, payload) VALUES (%s, %s, %s, 'reservation_created', %s)"
)
TOPIC = "reservation_events"

app = Flask(__name__)
_connection: list[psycopg2.extensions.connection] = []  # one per worker process, opened after the fork


def connection() -> psycopg2.extensions.connection:
    if not _connection or _connection[0].closed:
        _connection[:] = [psycopg2.connect(os.environ["BENCH_SAME_WORK_DATABASE_URL"])]
    return _connection[0]


def _event(reservation: dict[str, Any]) -> tuple[str, str, str, str]:
    event_id = str(uuid.uuid4())
    payload = {
        "event_id": event_id,
        "event_type": "reservation_created",
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "bench-same-work",
        "schema_version": 1,
        "aggregate_id": reservation["id"],
        "version": 1,
        "data": reservation,
    }
    return event_id, TOPIC, str(reservation["id"]), json.dumps(payload)


@app.post("/reservations")
def create() -> tuple[Any, int]:
    body = request.get_json()
    values = {"user_id": int(os.environ.get("BENCH_USER_ID", "1")), "attendees": 1, "purpose": None, **body}
    conn = connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(ROOM_SQL, (values["room_id"],))
            room = cursor.fetchone()
            if room is None:
                conn.rollback()
                return jsonify(title="Unknown room"), 422
            cursor.execute(INSERT_SQL, {**values, "buffer": room[0]})
            row = cursor.fetchone()
            assert row is not None
            reservation = {**values, "id": row[0], "status": "confirmed", "created_at": row[1].isoformat()}
            cursor.execute(OUTBOX_SQL, _event(reservation))
        conn.commit()
    except psycopg2.errors.ExclusionViolation:
        conn.rollback()
        return jsonify(title="Reservation conflict"), 409
    return jsonify(reservation), 201
