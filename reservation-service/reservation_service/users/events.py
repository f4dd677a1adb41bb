"""User events keep the user replica current; a deleted user's reservations that have not ended are
cancelled (a deactivated one keeps them, as the contract says)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from reservation_service.reservations.models import Reservation
from reservation_service.reservations.service import cancel_unfinished
from reservation_service.users.access import hold_for_deletion
from reservation_service.users.models import UserReplica
from servicekit.db import utcnow


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
    cancel_unfinished(session, Reservation.user_id == user_id, "user deleted")


HANDLERS = {
    "user_created": on_user_changed,
    "user_updated": on_user_changed,
    "user_deleted": on_user_deleted,
}
