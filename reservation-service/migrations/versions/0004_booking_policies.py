"""Booking policies: the room replica holds each room's policy (rooms replicated before have the defaults
until their room_updated event arrives), and a reservation occupies its room until its end plus the
room's buffer, which the exclusion constraint now covers.

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

EXCLUDE = "EXCLUDE USING gist (room_id WITH =, tstzrange(start_time, {end}, '[)') WITH &&) WHERE (status = 'confirmed')"


def upgrade() -> None:
    op.add_column("rooms", sa.Column("max_days_ahead", sa.Integer(), nullable=True, server_default="365"))
    op.alter_column("rooms", "max_days_ahead", server_default=None)
    op.add_column("rooms", sa.Column("max_duration_minutes", sa.Integer(), nullable=True))
    op.add_column("rooms", sa.Column("buffer_minutes", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("rooms", sa.Column("opening_hours", JSONB(), nullable=True))
    op.add_column("rooms", sa.Column("requires_check_in", sa.Boolean(), nullable=False, server_default="false"))
    op.add_column("rooms", sa.Column("check_in_minutes", sa.Integer(), nullable=False, server_default="15"))
    op.add_column("reservations", sa.Column("occupied_until", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE reservations SET occupied_until = end_time")
    op.alter_column("reservations", "occupied_until", nullable=False)
    op.create_check_constraint("occupied_after_end", "reservations", "occupied_until >= end_time")
    op.execute("ALTER TABLE reservations DROP CONSTRAINT no_double_booking")
    op.execute(f"ALTER TABLE reservations ADD CONSTRAINT no_double_booking {EXCLUDE.format(end='occupied_until')}")


def downgrade() -> None:
    op.execute("ALTER TABLE reservations DROP CONSTRAINT no_double_booking")
    op.execute(f"ALTER TABLE reservations ADD CONSTRAINT no_double_booking {EXCLUDE.format(end='end_time')}")
    op.drop_constraint(op.f("ck_reservations_occupied_after_end"), "reservations", type_="check")
    op.drop_column("reservations", "occupied_until")
    for column in (
        "check_in_minutes",
        "requires_check_in",
        "opening_hours",
        "buffer_minutes",
        "max_duration_minutes",
        "max_days_ahead",
    ):
        op.drop_column("rooms", column)
