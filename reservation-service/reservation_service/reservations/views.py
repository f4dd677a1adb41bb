"""Reservation endpoints: thin wrappers over the service functions."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask_smorest import Blueprint

from reservation_service.reservations import service
from reservation_service.reservations.models import ReservationCreate, ReservationListQuery, ReservationRead
from servicekit.auth import current_principal
from servicekit.db import current_session
from servicekit.pagination import page_envelope_schema
from servicekit.schemas import ProblemSchema

blp = Blueprint("reservations", __name__, url_prefix="/reservations", description="Room bookings")
ReservationPage = page_envelope_schema(ReservationRead, "ReservationPage")


@blp.get("")
@blp.arguments(ReservationListQuery, location="query")
@blp.response(200, ReservationPage)
def list_reservations(query: dict[str, Any]) -> dict[str, Any]:
    """The caller's reservations (admins: everyone's), by start time."""
    return service.list_visible(current_session(), viewer=current_principal(), **query)


@blp.post("")
@blp.arguments(ReservationCreate)
@blp.response(201, ReservationRead)
@blp.alt_response(409, schema=ProblemSchema, description="Overlaps existing reservations, listed in `conflicts`.")
def create_reservation(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Book a room."""
    reservation, room = service.create_reservation(
        current_session(),
        reservation_in=body,
        user=current_principal(),
        max_hours=current_app.extensions["reservation_settings"].max_reservation_hours,
    )
    current_session().commit()
    location = url_for("reservations.get_reservation", reservation_id=reservation.id)
    return service.to_dict(reservation, room.timezone), {"Location": location}


@blp.get("/<id:reservation_id>")
@blp.response(200, ReservationRead)
def get_reservation(reservation_id: int) -> dict[str, Any]:
    """One reservation of the caller's (admins: anyone's)."""
    reservation, room = service.get_visible(current_session(), reservation_id, current_principal())
    return service.to_dict(reservation, room.timezone)
