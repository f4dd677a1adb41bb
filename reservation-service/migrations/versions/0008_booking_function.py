"""The booking's writes in one round trip: book_reservation().

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

The service checks the request (the room, the window, the policy) in Python; this function does, in one call
and in the caller's transaction, what must happen under locks: the user's turn (shared, or exclusive where a
quota counts), the user re-read after that wait, the quota, the room's turn, the overlap check, and the row
with its outbox event. Each statement of a PL/pgSQL function reads a fresh snapshot, so what it sees after a
lock wait includes what the holder committed (one plain SQL statement would read from before the wait).
The lock keys are those of reservation_service.reservations.locks; the exclusion constraint stays the last
word on overlaps (the overlap test reads the index of migration 0009: the room's reservations still
occupying it after the new one starts).
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BOOK_RESERVATION = """
CREATE FUNCTION book_reservation(
    p_room_id bigint,
    p_user_id bigint,
    p_start timestamptz,
    p_end timestamptz,
    p_occupied_until timestamptz,
    p_purpose text,
    p_attendees integer,
    p_series_id bigint,
    p_now timestamptz,
    p_user_lock text,        -- 'shared', 'exclusive', or 'held' (the caller holds it already)
    p_max_upcoming integer,  -- NULL: no quota to check here
    p_event_id uuid,
    p_topic text,
    p_event_type text,
    p_payload jsonb          -- the event envelope; its aggregate_id and data.id are set here
) RETURNS TABLE (outcome text, id bigint, user_id bigint, start_time timestamptz, end_time timestamptz)
LANGUAGE plpgsql VOLATILE
-- Planned with each call's values: a cached generic plan of the overlap test, not knowing the instants, can
-- pick the index on (room_id, start_time) and walk the room's history.
SET plan_cache_mode = force_custom_plan
AS $$
#variable_conflict use_column
DECLARE
    new_id bigint;
    upcoming bigint;
BEGIN
    IF p_user_lock = 'shared' THEN
        PERFORM pg_advisory_xact_lock_shared(hashtextextended('reservation-user:' || p_user_id, 0));
    ELSIF p_user_lock = 'exclusive' THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('reservation-user:' || p_user_id, 0));
    ELSIF p_user_lock <> 'held' THEN
        RAISE EXCEPTION 'book_reservation: unknown user lock %', p_user_lock;
    END IF;
    IF EXISTS (SELECT FROM users u WHERE u.id = p_user_id AND (u.is_deleted OR NOT u.is_active)) THEN
        RETURN QUERY SELECT 'user-gone', NULL::bigint, NULL::bigint, NULL::timestamptz, NULL::timestamptz;
        RETURN;
    END IF;
    IF p_max_upcoming IS NOT NULL THEN
        SELECT count(*) INTO upcoming FROM reservations r
            WHERE r.user_id = p_user_id AND r.status = 'confirmed' AND r.end_time > p_now;
        IF upcoming + 1 > p_max_upcoming THEN
            RETURN QUERY SELECT 'quota', upcoming, NULL::bigint, NULL::timestamptz, NULL::timestamptz;
            RETURN;
        END IF;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('reservation-room:' || p_room_id, 0));
    RETURN QUERY SELECT 'conflict', r.id, r.user_id, r.start_time, r.end_time FROM reservations r
        WHERE r.room_id = p_room_id AND r.status = 'confirmed'
          AND r.occupied_until > p_start AND r.start_time < p_occupied_until
        ORDER BY r.start_time;
    IF FOUND THEN
        RETURN;
    END IF;
    INSERT INTO reservations AS r (room_id, user_id, start_time, end_time, occupied_until, purpose, attendees,
                                   status, version, created_at, updated_at, series_id)
        VALUES (p_room_id, p_user_id, p_start, p_end, p_occupied_until, p_purpose, p_attendees,
                'confirmed', 1, p_now, p_now, p_series_id)
        RETURNING r.id INTO new_id;
    INSERT INTO outbox (event_id, topic, key, event_type, payload, created_at)
        VALUES (p_event_id, p_topic, new_id::text, p_event_type,
                jsonb_set(jsonb_set(p_payload, '{aggregate_id}', to_jsonb(new_id)), '{data,id}', to_jsonb(new_id)),
                p_now);
    RETURN QUERY SELECT 'booked', new_id, p_user_id, p_start, p_end;
END
$$
"""


def upgrade() -> None:
    op.execute(BOOK_RESERVATION)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION book_reservation(bigint, bigint, timestamptz, timestamptz, timestamptz, text, integer, bigint,"
        " timestamptz, text, integer, uuid, text, text, jsonb)"
    )
