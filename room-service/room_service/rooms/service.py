"""Room operations; every change stages its event in the same transaction."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from room_service.config import SERVICE_NAME
from room_service.rooms.models import Room, RoomRead
from servicekit.outbox import add_event
from servicekit.pagination import paginate
from servicekit.problems import Problem

TOPIC = "room_events"


def _emit(session: Session, room: Room, event_type: str) -> None:
    session.flush()
    add_event(
        session, producer=SERVICE_NAME, topic=TOPIC, event_type=event_type, aggregate=room, data=RoomRead().dump(room)
    )


def _name_taken(session: Session, name: str, *, excluding: int | None = None) -> bool:
    query = sa.select(Room.id).where(sa.func.lower(Room.name) == name.lower())
    if excluding is not None:
        query = query.where(Room.id != excluding)
    return session.scalar(query) is not None


def _duplicate_name(name: str) -> Problem:
    return Problem(
        409,
        f"A room named {name!r} already exists.",
        slug="duplicate-name",
        errors=[{"field": "name", "message": "A room with this name already exists."}],
    )


def create_room(session: Session, *, room_in: dict[str, Any]) -> Room:
    if _name_taken(session, room_in["name"]):
        raise _duplicate_name(room_in["name"])
    room = Room(**room_in, version=1)
    session.add(room)
    try:
        _emit(session, room, "room_created")
    except sa.exc.IntegrityError:  # a concurrent create took the name between our check and our insert
        session.rollback()
        raise _duplicate_name(room_in["name"]) from None
    return room


def get_room(session: Session, room_id: int) -> Room:
    room = session.get(Room, room_id)
    if room is None:
        raise Problem(404, f"Room {room_id} does not exist.")
    return room


def list_rooms(session: Session, *, is_active: bool, page: int, per_page: int) -> dict[str, Any]:
    query = sa.select(Room).where(Room.is_active.is_(is_active)).order_by(Room.id)
    return paginate(session, query, page=page, per_page=per_page)
