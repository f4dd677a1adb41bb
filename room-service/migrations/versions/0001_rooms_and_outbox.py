"""Rooms and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from servicekit.outbox import create_outbox_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rooms",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("equipment", ARRAY(sa.String(100)), nullable=False, server_default="{}"),
        sa.Column("building", sa.String(200)),
        sa.Column("floor", sa.String(50)),
        sa.Column("description", sa.Text),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("capacity BETWEEN 1 AND 10000", name="capacity_range"),
    )
    op.create_index("uq_rooms_name_lower", "rooms", [sa.text("lower(name)")], unique=True)
    create_outbox_table(op)


def downgrade() -> None:
    op.drop_table("outbox")
    op.execute("DROP FUNCTION IF EXISTS outbox_notify()")
    op.drop_table("rooms")
