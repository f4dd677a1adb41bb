"""Availability endpoints."""

from __future__ import annotations

from typing import Any

from flask import Response

from reservation_service.availability import service
from reservation_service.availability.schemas import DayAvailability, DayQuery, FreeRoom, FreeRoomsQuery
from servicekit.auth import current_principal
from servicekit.db import current_session, statements_commit_alone
from servicekit.openapi import ProblemBlueprint
from servicekit.pagination import page_envelope_schema
from servicekit.web import json_response

blp = ProblemBlueprint("availability", __name__, url_prefix="/availability", description="Free and busy times")
FreeRoomPage = page_envelope_schema(FreeRoom, "FreeRoomPage")


@blp.get("")
@statements_commit_alone
@blp.arguments(DayQuery, location="query")
@blp.response(200, DayAvailability)
@blp.problems((404, "No such room."), (422, "Missing or malformed `room_id` or `date`."))
def day(query: dict[str, Any]) -> Response:
    """A room's booked and free intervals over one local day (23 or 25 hours on daylight-saving days)."""
    return json_response(
        service.day_availability(
            session=current_session(), room_id=query["room_id"], day=query["date"], viewer=current_principal()
        )
    )


@blp.get("/rooms")
@statements_commit_alone
@blp.arguments(FreeRoomsQuery, location="query")
@blp.response(200, FreeRoomPage)
@blp.problems((422, "`start`/`end` missing, without offset, or out of order."))
def free_rooms(query: dict[str, Any]) -> Response:
    """The active rooms free for the whole window, by id."""
    return json_response(service.free_rooms(session=current_session(), **query))
