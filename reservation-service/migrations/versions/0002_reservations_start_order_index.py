"""An index in the list order, so an admin's unfiltered page does not sort the whole table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reservations_start_id", "reservations", ["start_time", "id"])


def downgrade() -> None:
    op.drop_index("ix_reservations_start_id", table_name="reservations")
