"""What writers of reservations take turns on, shared by the booking path and the user checks."""

from __future__ import annotations

import sqlalchemy as sa

# Writes to one room take turns until commit (see booking.take_room). book_reservation (migration 0008) takes
# the same keys, and access.py's user key, in SQL: a change here needs a migration replacing that function.
ROOM_LOCK_KEY = sa.func.hashtextextended(sa.func.concat("reservation-room:", sa.bindparam("room_id")), 0)
