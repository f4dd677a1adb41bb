"""Check-in: when a reservation was checked in, and the status `released` for no-shows let go.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reservations", sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f("ck_reservations_status_known"), "reservations", type_="check")
    op.create_check_constraint("status_known", "reservations", "status IN ('confirmed', 'cancelled', 'released')")
    # The scheduler's question, every poll: confirmed and not checked in, by start.
    op.create_index(
        "ix_reservations_awaiting_check_in",
        "reservations",
        ["start_time"],
        postgresql_where=sa.text("status = 'confirmed' AND checked_in_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_reservations_awaiting_check_in", table_name="reservations")
    op.execute("UPDATE reservations SET status = 'cancelled' WHERE status = 'released'")
    op.drop_constraint(op.f("ck_reservations_status_known"), "reservations", type_="check")
    op.create_check_constraint("status_known", "reservations", "status IN ('confirmed', 'cancelled')")
    op.drop_column("reservations", "checked_in_at")
