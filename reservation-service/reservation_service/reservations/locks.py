"""What writers of reservations take turns on, shared by the booking path and the user checks."""

from __future__ import annotations

import sqlalchemy as sa

# Writes to one room take turns until commit (see booking.take_room).
ROOM_LOCK_KEY = sa.func.hashtextextended(sa.func.concat("reservation-room:", sa.bindparam("room_id")), 0)
# The id of a reservation about to be inserted, drawn in the same round trip as the room's lock.
NEXT_RESERVATION_ID = sa.func.nextval(sa.func.pg_get_serial_sequence("reservations", "id"))
