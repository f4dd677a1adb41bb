"""Room names are unique as people read them: compared by a normalized key (NFKC, no invisible
characters, case-folded) instead of lower(name).

Rows that already collide under the new key (names that differed only by invisible or compatibility
characters) keep their names; every one after the first gets its id appended to its key, so the unique
index can be built and an admin can rename them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from room_service.rooms.names import name_key

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rooms", sa.Column("name_key", sa.Text(), nullable=True))
    connection = op.get_bind()
    seen: set[str] = set()
    for room_id, name in connection.execute(sa.text("SELECT id, name FROM rooms ORDER BY id")):
        key = name_key(name)
        if key in seen:
            key = f"{key} #{room_id}"
        seen.add(key)
        connection.execute(sa.text("UPDATE rooms SET name_key = :key WHERE id = :id"), {"key": key, "id": room_id})
    op.alter_column("rooms", "name_key", nullable=False)
    op.drop_index("uq_rooms_name_lower", table_name="rooms")
    op.create_index("uq_rooms_name_key", "rooms", ["name_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_rooms_name_key", table_name="rooms")
    op.create_index("uq_rooms_name_lower", "rooms", [sa.text("lower(name)")], unique=True)
    op.drop_column("rooms", "name_key")
