"""Room endpoints: thin wrappers over the service functions."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_smorest import Blueprint

from room_service.rooms import service
from room_service.rooms.models import Room, RoomCreate, RoomListQuery, RoomRead
from servicekit.auth import admin_only
from servicekit.db import current_session
from servicekit.pagination import page_envelope_schema

blp = Blueprint("rooms", __name__, url_prefix="/rooms", description="Meeting rooms")
RoomPage = page_envelope_schema(RoomRead, "RoomPage")


@blp.get("")
@blp.arguments(RoomListQuery, location="query")
@blp.response(200, RoomPage)
def list_rooms(query: dict[str, Any]) -> dict[str, Any]:
    """List rooms, in id order."""
    return service.list_rooms(current_session(), **query)


@blp.post("")
@admin_only
@blp.arguments(RoomCreate)
@blp.response(201, RoomRead)
def create_room(body: dict[str, Any]) -> tuple[Room, dict[str, str]]:
    """Create a room (admin)."""
    room = service.create_room(current_session(), room_in=body)
    current_session().commit()
    return room, {"Location": url_for("rooms.get_room", room_id=room.id)}


@blp.get("/<id:room_id>")
@blp.response(200, RoomRead)
def get_room(room_id: int) -> Room:
    """One room."""
    return service.get_room(current_session(), room_id)
