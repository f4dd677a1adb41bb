"""Room and user events keep the replicas current; a deleted room's or user's reservations that have not
ended are cancelled (a deactivated user keeps them, as the contract says). Every handler is routed here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from reservation_service.access import hold_for_deletion
from reservation_service.replica.models import RoomReplica, UserReplica
from reservation_service.reservations.models import Reservation
from reservation_service.reservations.service import cancel_unfinished
from servicekit.catalogue import POLICY_DEFAULTS
from servicekit.consumer import Handler
from servicekit.db import utcnow

REPLICATED = ("name", "capacity", "equipment", "building", "floor", "timezone", "is_active")


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
        cancel_unfinished(
            session=session, condition=Reservation.room_id == int(envelope["aggregate_id"]), reason="room deleted"
        )


def upsert_user(session: Session, envelope: Mapping[str, Any], *, deleted: bool = False) -> None:
    """Apply the user's state if this event is newer than what we hold."""
    data = envelope["data"]
    values = {
        "id": int(envelope["aggregate_id"]),
        "role": str(data.get("role") or "employee"),
        "is_active": bool(data.get("is_active", True)),
        "is_deleted": deleted,
        "version": int(envelope["version"]),
        "updated_at": utcnow(),
    }
    statement = insert(UserReplica).values(**values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[UserReplica.id],
            set_={key: statement.excluded[key] for key in values if key != "id"},
            # A deletion is final: no event of an older version may bring the user back.
            where=(UserReplica.version < statement.excluded.version) & UserReplica.is_deleted.is_(False),
        )
    )


def on_user_changed(session: Session, envelope: Mapping[str, Any]) -> None:
    upsert_user(session, envelope)


def on_user_deleted(session: Session, envelope: Mapping[str, Any]) -> None:
    user_id = int(envelope["aggregate_id"])
    hold_for_deletion(session, user_id)
    upsert_user(session, envelope, deleted=True)
    cancel_unfinished(session=session, condition=Reservation.user_id == user_id, reason="user deleted")


HANDLERS: Mapping[str, Mapping[str, Handler]] = {
    "room_events": {
        "room_created": on_room_changed,
        "room_updated": on_room_changed,
        "room_deleted": on_room_deleted,
    },
    "user_events": {
        "user_created": on_user_changed,
        "user_updated": on_user_changed,
        "user_deleted": on_user_deleted,
    },
}
