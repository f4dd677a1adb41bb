"""Booking policies on rooms. Existing rooms get the defaults (a 365-day horizon, no other limit) and a
room_updated event, so the reservation service's replica learns them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rooms", sa.Column("max_days_ahead", sa.Integer(), nullable=True))
    op.add_column("rooms", sa.Column("max_duration_minutes", sa.Integer(), nullable=True))
    op.add_column("rooms", sa.Column("buffer_minutes", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("rooms", sa.Column("opening_hours", JSONB(), nullable=True))
    op.add_column("rooms", sa.Column("requires_check_in", sa.Boolean(), nullable=False, server_default="false"))
    op.add_column("rooms", sa.Column("check_in_minutes", sa.Integer(), nullable=False, server_default="15"))
    # The event's data is the room as the API shows it (RoomRead), written out here so that this migration
    # does not change when the application's schemas do.
    op.execute(
        """
        WITH changed AS (
            UPDATE rooms SET max_days_ahead = 365, version = version + 1, updated_at = now()
            RETURNING *
        ), staged AS (
            SELECT gen_random_uuid() AS event_id, changed.* FROM changed
        )
        INSERT INTO outbox (event_id, topic, key, event_type, payload)
        SELECT event_id, 'room_events', id::text, 'room_updated', jsonb_build_object(
            'event_id', event_id::text,
            'event_type', 'room_updated',
            'occurred_at', to_jsonb(now()),
            'producer', 'room-service',
            'schema_version', 1,
            'request_id', NULL,
            'aggregate_id', id,
            'version', version,
            'data', jsonb_build_object(
                'id', id, 'name', name, 'capacity', capacity, 'equipment', to_jsonb(equipment),
                'building', building, 'floor', floor, 'description', description, 'timezone', timezone,
                'is_active', is_active, 'created_at', to_jsonb(created_at), 'updated_at', to_jsonb(updated_at),
                'max_days_ahead', max_days_ahead, 'max_duration_minutes', max_duration_minutes,
                'buffer_minutes', buffer_minutes, 'opening_hours', opening_hours,
                'requires_check_in', requires_check_in, 'check_in_minutes', check_in_minutes
            )
        )
        FROM staged ORDER BY id
        """
    )


def downgrade() -> None:
    for column in (
        "check_in_minutes",
        "requires_check_in",
        "opening_hours",
        "buffer_minutes",
        "max_duration_minutes",
        "max_days_ahead",
    ):
        op.drop_column("rooms", column)
