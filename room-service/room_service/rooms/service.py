"""Room operations; every change stages its event in the same transaction."""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from room_service.config import SERVICE_NAME
from room_service.rooms.models import Room, RoomRead
from room_service.rooms.names import name_key
from servicekit.db import containing_pattern, contains, utcnow
from servicekit.outbox import EventStream
from servicekit.pagination import paginate
from servicekit.problems import Problem

EVENTS = EventStream(producer=SERVICE_NAME, topic="room_events")
_READ = [Room.__table__.c[name] for name in RoomRead().fields]
_READ_NAMES = [column.name for column in _READ]
_INSTANTS = ("created_at", "updated_at")


def _as_read(row: sa.Row[Any]) -> dict[str, Any]:
    """RoomRead's shape from a row of its columns, without a schema pass (a page of 50 rooms through
    marshmallow cost more than its query)."""
    item = dict(zip(_READ_NAMES, row, strict=False))  # the row's first columns; after them, the page's total
    for name in _INSTANTS:
        item[name] = item[name].isoformat()
    return item


def _publish(session: Session, room: Room, event_type: str, *, flush: bool = True) -> None:
    EVENTS.publish(session, room, event_type, lambda: RoomRead().dump(room), flush=flush)


def _publish_named(session: Session, room: Room, event_type: str) -> None:
    """Write the room with its event; a name a concurrent create or rename took after our check is 409,
    and the caller's transaction stays usable."""
    name = room.name  # read now: a failed savepoint expires the object's attributes
    try:
        with session.begin_nested():
            _publish(session, room, event_type)
    except sa.exc.IntegrityError:
        raise _duplicate_name(name) from None


def _name_taken(session: Session, name: str, *, excluding: int | None = None) -> bool:
    query = sa.select(Room.id).where(Room.name_key == name_key(name))
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


def _not_found(room_id: int) -> Problem:
    return Problem(404, f"Room {room_id} does not exist.")


def create_room(*, session: Session, room_in: dict[str, Any], default_max_days_ahead: int) -> Room:
    room_in = {"max_days_ahead": default_max_days_ahead, **room_in}
    if _name_taken(session, room_in["name"]):
        raise _duplicate_name(room_in["name"])
    room = Room(**room_in, version=1)
    session.add(room)
    _publish_named(session, room, "room_created")
    return room


def get_room(*, session: Session, room_id: int) -> Room:
    room = session.get(Room, room_id)
    if room is None:
        raise _not_found(room_id)
    return room


def _locked_room(session: Session, room_id: int) -> Room:
    """The room, locked until the transaction ends, so changes to it serialize and versions follow commits."""
    room: Room | None = session.scalar(
        sa.select(Room).where(Room.id == room_id).with_for_update().execution_options(populate_existing=True)
    )
    if room is None:
        raise _not_found(room_id)
    return room


def update_room(*, session: Session, room_id: int, changes: dict[str, Any]) -> Room:
    """Apply a partial update; a body that changes nothing bumps no version and emits no event."""
    room = _locked_room(session, room_id)
    changed = {field: value for field, value in changes.items() if getattr(room, field) != value}
    if not changed:
        return room
    if "name" in changed and _name_taken(session, changed["name"], excluding=room.id):
        raise _duplicate_name(changed["name"])
    for field, value in changed.items():
        setattr(room, field, value)
    room.version += 1
    room.updated_at = utcnow()
    _publish_named(session, room, "room_updated")
    return room


def delete_room(*, session: Session, room_id: int) -> None:
    """Remove the room; its room_deleted event carries its last state, one version on."""
    room = _locked_room(session, room_id)
    room.version += 1  # never written: the row goes, but the event must outrank every earlier one
    _publish(session, room, "room_deleted", flush=False)
    session.delete(room)
    session.flush()


def list_rooms(
    *,
    session: Session,
    page: int,
    per_page: int,
    is_active: bool,
    min_capacity: int | None = None,
    equipment: list[str] | None = None,
    building: str | None = None,
    floor: str | None = None,
    q: str | None = None,
) -> dict[str, Any]:
    """A page of the rooms matching every filter given, in id order."""
    filters = {
        "min_capacity": min_capacity,
        "equipment": equipment or None,
        "building": building,
        "floor": floor,
        "q": containing_pattern(q) if q else None,
    }
    given = {name: value for name, value in filters.items() if value is not None}
    statement = _list_statement(frozenset(given))
    parameters = {**given, "is_active": is_active}
    return paginate(
        session, statement, page=page, per_page=per_page, parameters=parameters, built_once=True, render=_as_read
    )


_LIST_FILTERS: dict[str, sa.ColumnElement[bool]] = {
    "min_capacity": Room.capacity >= sa.bindparam("min_capacity"),
    "equipment": Room.equipment.contains(sa.bindparam("equipment", type_=Room.equipment.type)),  # `@>`, GIN index
    "building": sa.func.lower(Room.building) == sa.func.lower(sa.bindparam("building", type_=sa.String)),
    "floor": Room.floor == sa.bindparam("floor"),
    "q": contains(sa.bindparam("q", type_=sa.String), Room.name, Room.description),
}


@cache
def _list_statement(filters: frozenset[str]) -> sa.Select[Any]:
    """The list's statement for one combination of filters, built once (and prepared: see paginate)."""
    query = sa.select(*_READ).where(Room.is_active == sa.bindparam("is_active"))
    for name in sorted(filters):
        query = query.where(_LIST_FILTERS[name])
    return query.order_by(Room.id)
