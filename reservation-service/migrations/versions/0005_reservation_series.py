"""Recurring meetings: a series row, and each occurrence's reservation pointing to it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reservation_series",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("room_id", sa.BigInteger(), sa.ForeignKey("rooms.id"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("rrule", sa.String(500), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purpose", sa.String(500), nullable=True),
        sa.Column("attendees", sa.Integer(), nullable=False),
        sa.Column("skipped", JSONB(), nullable=False, server_default="[]"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column(
        "reservations",
        sa.Column("series_id", sa.BigInteger(), sa.ForeignKey("reservation_series.id"), nullable=True),
    )
    op.create_index(
        "ix_reservations_series",
        "reservations",
        ["series_id", "start_time"],
        postgresql_where=sa.text("series_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_reservations_series", table_name="reservations")
    op.drop_column("reservations", "series_id")
    op.drop_table("reservation_series")
