"""book_reservation() leaves its statements to PostgreSQL's plan cache instead of planning each on every call.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

Migration 0008 set plan_cache_mode = force_custom_plan on the function, so that the overlap test would always
be planned with the call's instants (a generic plan, not knowing them, can walk a room's history). That planned
all of its statements on every booking: 0.3-0.6 of the 1.6-2.0 ms of PostgreSQL CPU a booking cost (in
process). With the default mode the plan cache keeps a generic plan where it costs no more than a planned one
(the locks, the user check, the quota count, the inserts) and goes on planning the overlap test per call, whose
generic plan is estimated far dearer than a planned one for a window ahead
(tests/test_booking_plans.py checks both).
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SIGNATURE = (
    "book_reservation(bigint, bigint, timestamptz, timestamptz, timestamptz, text, integer, bigint, timestamptz,"
    " text, integer, uuid, text, text, jsonb)"
)


def upgrade() -> None:
    op.execute(f"ALTER FUNCTION {SIGNATURE} RESET plan_cache_mode")


def downgrade() -> None:
    op.execute(f"ALTER FUNCTION {SIGNATURE} SET plan_cache_mode = force_custom_plan")
