"""The check-in endpoint."""

from __future__ import annotations

from typing import Any

from reservation_service.checkin import service
from reservation_service.reservations import booking
from reservation_service.reservations.models import ReservationRead
from servicekit.auth import current_principal
from servicekit.db import current_session
from servicekit.openapi import ProblemBlueprint

blp = ProblemBlueprint("checkin", __name__, url_prefix="/reservations", description="Check-in")


@blp.post("/<id:reservation_id>/check-in")
@blp.response(200, ReservationRead)
@blp.problems(
    (404, "No such reservation of the caller's."), (409, "Outside the check-in window, or cancelled or released.")
)
def check_in(reservation_id: int) -> dict[str, Any]:
    """Check in: from 15 minutes before the start until the end (in rooms that require check-in, until start
    + check_in_minutes if that is first). Checking in again changes nothing."""
    session = current_session()
    reservation, room = service.check_in(session=session, reservation_id=reservation_id, user=current_principal())
    session.commit()
    return booking.to_dict(reservation, room.timezone)
