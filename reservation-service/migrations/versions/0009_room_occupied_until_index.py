"""An index for "what of this room is still occupied after an instant": the overlap tests.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

A room's reservations are mostly history. An overlap test on (room_id, start_time) walks all of it, and the
exclusion constraint's GiST index answers per room at several times the cost of a btree; on (room_id,
occupied_until), confirmed only, it reads the room's reservations that end after the window starts (its
upcoming ones). Used by the booking's overlap check, a room's day and the free-room search.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_reservations_room_occupied_until",
        "reservations",
        ["room_id", "occupied_until"],
        postgresql_where=sa.text("status = 'confirmed'"),
    )


def downgrade() -> None:
    op.drop_index("ix_reservations_room_occupied_until", table_name="reservations")
