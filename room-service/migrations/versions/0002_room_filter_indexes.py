"""Indexes for the room list's filters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `equipment @> ARRAY[...]` (a room has every tag asked for) is answered by a GIN index.
    op.create_index("ix_rooms_equipment", "rooms", ["equipment"], postgresql_using="gin")
    op.create_index("ix_rooms_building_lower", "rooms", [sa.text("lower(building)")])


def downgrade() -> None:
    op.drop_index("ix_rooms_building_lower", table_name="rooms")
    op.drop_index("ix_rooms_equipment", table_name="rooms")
