"""Reservation endpoints: thin wrappers over the service functions."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, url_for

from reservation_service.reservations import booking, service
from reservation_service.reservations.models import (
    ReservationCreate,
    ReservationListQuery,
    ReservationRead,
    ReservationUpdate,
)
from reservation_service.reservations.policy import Limits
from servicekit.auth import current_principal
from servicekit.db import current_session, statements_commit_alone
from servicekit.openapi import ProblemBlueprint
from servicekit.pagination import page_envelope_schema
from servicekit.web import json_response

blp = ProblemBlueprint("reservations", __name__, url_prefix="/reservations", description="Room bookings")
ReservationPage = page_envelope_schema(ReservationRead, "ReservationPage")


def current_limits() -> Limits:
    return current_app.extensions["reservation_settings"].limits  # type: ignore[no-any-return]


@blp.get("")
@statements_commit_alone
@blp.arguments(ReservationListQuery, location="query")
@blp.response(200, ReservationPage)
@blp.problems(
    (403, "`user_id` of someone else, asked by a non-admin."),
    (422, "Bad query parameters (`from`/`to` need an offset)."),
)
def list_reservations(query: dict[str, Any]) -> Response:
    """The caller's reservations (admins: everyone's), by start time."""
    return json_response(service.list_visible(session=current_session(), viewer=current_principal(), **query))


@blp.post("")
@statements_commit_alone
@blp.arguments(ReservationCreate)
@blp.response(201, ReservationRead)
@blp.problems(
    (409, "Overlaps confirmed reservations, listed in `conflicts`."),
    (422, "A rule is broken, or the room is unknown (`/unknown-room`)."),
)
def create_reservation(body: dict[str, Any]) -> Response:
    """Book a room."""
    # Its one write is one statement (book_reservation), committed as it returns: the view runs without a
    # transaction (statements_commit_alone), so there is nothing to COMMIT.
    reservation, room = service.create_reservation(
        session=current_session(), reservation_in=body, user=current_principal(), limits=current_limits()
    )
    location = url_for("reservations.get_reservation", reservation_id=reservation.id)
    return json_response(booking.to_dict(reservation, room.timezone), 201, {"Location": location})


@blp.get("/<id:reservation_id>")
@statements_commit_alone
@blp.response(200, ReservationRead)
@blp.problems((404, "No such reservation of the caller's."))
def get_reservation(reservation_id: int) -> Response:
    """One reservation of the caller's (admins: anyone's)."""
    reservation, room = service.get_visible(
        session=current_session(), reservation_id=reservation_id, viewer=current_principal()
    )
    return json_response(booking.to_dict(reservation, room.timezone))


@blp.put("/<id:reservation_id>")
@blp.patch("/<id:reservation_id>")
@blp.arguments(ReservationUpdate)
@blp.response(200, ReservationRead)
@blp.problems(
    (404, "No such reservation of the caller's."),
    (409, "Overlaps others, or is cancelled or finished."),
    (422, "The changed reservation would break a rule."),
)
def update_reservation(body: dict[str, Any], reservation_id: int) -> Response:
    """Change a reservation (PUT and PATCH both take any subset of the fields); every rule is checked again."""
    session = current_session()
    reservation, room = service.update_reservation(
        session=session, reservation_id=reservation_id, changes=body, user=current_principal(), limits=current_limits()
    )
    session.commit()
    return json_response(booking.to_dict(reservation, room.timezone))


@blp.delete("/<id:reservation_id>")
@blp.response(204)
@blp.problems((404, "No such reservation of the caller's."), (409, "The reservation has already ended."))
def cancel_reservation(reservation_id: int) -> None:
    """Cancel a reservation; it stays in the history as cancelled."""
    session = current_session()
    service.cancel_reservation(session=session, reservation_id=reservation_id, user=current_principal())
    session.commit()
