"""Room endpoints: thin wrappers over the service functions."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, url_for
from flask.views import MethodView

from room_service.rooms import service
from room_service.rooms.models import Room, RoomCreate, RoomListQuery, RoomRead, RoomUpdate
from servicekit.auth import admin_only
from servicekit.db import current_session, statements_commit_alone
from servicekit.openapi import ProblemBlueprint
from servicekit.pagination import page_envelope_schema
from servicekit.web import json_response

blp = ProblemBlueprint(
    "rooms",
    __name__,
    url_prefix="/rooms",
    description="Meeting rooms",
    descriptions={
        404: "No such room.",
        409: "Another room has this name (names are unique, ignoring case).",
    },
)
RoomPage = page_envelope_schema(RoomRead, "RoomPage")


@blp.get("")
@statements_commit_alone
@blp.arguments(RoomListQuery, location="query")
@blp.response(200, RoomPage)
@blp.problems(401, 422)
def list_rooms(query: dict[str, Any]) -> Response:
    """List rooms matching every filter given, in id order."""
    return json_response(service.list_rooms(session=current_session(), **query))


@blp.post("")
@admin_only
@blp.arguments(RoomCreate)
@blp.response(201, RoomRead)
@blp.problems(400, 401, 403, 409, 415, 422)
def create_room(body: dict[str, Any]) -> tuple[Room, dict[str, str]]:
    """Create a room (admin)."""
    settings = current_app.extensions["room_settings"]
    room = service.create_room(
        session=current_session(), room_in=body, default_max_days_ahead=settings.default_max_days_ahead
    )
    current_session().commit()
    return room, {"Location": url_for("rooms.RoomById", room_id=room.id)}


# One rule for every method on a room, so an id the converter refuses is 404 for each of them: with a
# rule per method, Werkzeug would answer 405 for the methods whose rule comes after another's.
@blp.route("/<id:room_id>")
class RoomById(MethodView):
    @blp.response(200, RoomRead)
    @blp.problems(401, 404)
    def get(self, room_id: int) -> Room:
        """One room."""
        return service.get_room(session=current_session(), room_id=room_id)

    @admin_only
    @blp.arguments(RoomUpdate)
    @blp.response(200, RoomRead)
    @blp.problems(400, 401, 403, 404, 409, 415, 422)
    def put(self, changes: dict[str, Any], room_id: int) -> Room:
        """Change some of a room's fields (admin); PUT and PATCH both take a partial body."""
        room = service.update_room(session=current_session(), room_id=room_id, changes=changes)
        current_session().commit()
        return room

    patch = put

    @admin_only
    @blp.response(204)
    @blp.problems(401, 403, 404)
    def delete(self, room_id: int) -> None:
        """Remove a room from the catalogue (admin)."""
        service.delete_room(session=current_session(), room_id=room_id)
        current_session().commit()
