"""Reservations, the room replica, the outbox and the processed-events record.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, ExcludeConstraint

from servicekit.outbox import create_outbox_table, create_processed_events_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "rooms",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("equipment", ARRAY(sa.String(100)), nullable=False, server_default="{}"),
        sa.Column("building", sa.String(200)),
        sa.Column("floor", sa.String(50)),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("is_deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("room_id", sa.BigInteger, sa.ForeignKey("rooms.id"), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purpose", sa.String(500)),
        sa.Column("attendees", sa.Integer, nullable=False, server_default="1"),
        sa.Column("status", sa.String(20), nullable=False, server_default="confirmed"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
        sa.Column("cancel_reason", sa.String(500)),
        sa.CheckConstraint("start_time < end_time", name="starts_before_end"),
        sa.CheckConstraint("status IN ('confirmed', 'cancelled')", name="status_known"),
        sa.CheckConstraint("attendees >= 1", name="attendees_positive"),
        ExcludeConstraint(
            ("room_id", "="),
            (sa.text("tstzrange(start_time, end_time, '[)')"), "&&"),
            name="no_double_booking",
            using="gist",
            where=sa.text("status = 'confirmed'"),
        ),
    )
    op.create_index("ix_reservations_user_start", "reservations", ["user_id", "start_time"])
    op.create_index("ix_reservations_room_start", "reservations", ["room_id", "start_time"])
    create_outbox_table(op)
    create_processed_events_table(op)


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_table("outbox")
    op.execute("DROP FUNCTION IF EXISTS outbox_notify()")
    op.drop_table("reservations")
    op.drop_table("rooms")
