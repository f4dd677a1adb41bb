"""Room events keep the local replica current; a deleted room's pending reservations are cancelled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from reservation_service.reservations.models import Reservation
from reservation_service.reservations.service import cancel_unfinished
from reservation_service.rooms.models import RoomReplica
from servicekit.db import utcnow

REPLICATED = ("name", "capacity", "equipment", "building", "floor", "timezone", "is_active")
# An event from before booking policies existed (or one without them) means the contract's defaults.
POLICY_DEFAULTS: dict[str, Any] = {
    "max_days_ahead": 365,
    "max_duration_minutes": None,
    "buffer_minutes": 0,
    "opening_hours": None,
    "requires_check_in": False,
    "check_in_minutes": 15,
}


def upsert_room(session: Session, envelope: Mapping[str, Any], *, deleted: bool = False) -> bool:
    """Apply the room's state if this event is newer than what we hold; True if it was applied."""
    data = envelope["data"]
    values = {key: data.get(key) for key in REPLICATED}
    values.update({key: data.get(key, default) for key, default in POLICY_DEFAULTS.items()})
    values["equipment"] = values["equipment"] or []
    values["timezone"] = values["timezone"] or "UTC"
    values.update(
        id=int(envelope["aggregate_id"]), version=int(envelope["version"]), is_deleted=deleted, updated_at=utcnow()
    )
    statement = insert(RoomReplica).values(**values)
    upsert = statement.on_conflict_do_update(
        index_elements=[RoomReplica.id],
        set_={key: statement.excluded[key] for key in values if key != "id"},
        where=RoomReplica.version < statement.excluded.version,
    ).returning(RoomReplica.id)
    return session.execute(upsert).first() is not None


def on_room_changed(session: Session, envelope: Mapping[str, Any]) -> None:
    upsert_room(session, envelope)


def on_room_deleted(session: Session, envelope: Mapping[str, Any]) -> None:
    if upsert_room(session, envelope, deleted=True):
        cancel_unfinished(session, Reservation.room_id == int(envelope["aggregate_id"]), "room deleted")


HANDLERS = {
    "room_created": on_room_changed,
    "room_updated": on_room_changed,
    "room_deleted": on_room_deleted,
}
