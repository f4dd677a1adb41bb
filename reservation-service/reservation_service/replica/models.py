"""The replicas: what the reservation service keeps of the room catalogue and of the users, built only
from their services' events (see handlers)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, Session, mapped_column

from servicekit.catalogue import PolicyColumns
from servicekit.db import db, utcnow
from servicekit.prepared import prepared


class RoomReplica(db.Model, PolicyColumns):  # type: ignore[name-defined,misc]
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(200))
    capacity: Mapped[int] = mapped_column(sa.Integer)
    equipment: Mapped[list[str]] = mapped_column(ARRAY(sa.String(100)), default=list)
    building: Mapped[str | None] = mapped_column(sa.String(200))
    floor: Mapped[str | None] = mapped_column(sa.String(50))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    is_deleted: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    version: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


@dataclass(frozen=True, slots=True)
class Room:
    """A room of the replica as requests read it (only events write the replica): a plain value. On the booking
    path, building an ORM instance of these columns cost more CPU than the query."""

    id: int
    name: str
    capacity: int
    equipment: list[str]
    building: str | None
    floor: str | None
    timezone: str
    is_active: bool
    is_deleted: bool
    version: int
    updated_at: datetime
    max_days_ahead: int | None
    max_duration_minutes: int | None
    buffer_minutes: int
    opening_hours: dict[str, Any] | None
    requires_check_in: bool
    check_in_minutes: int

    @property
    def bookable(self) -> bool:
        return self.is_active and not self.is_deleted

    @classmethod
    def find(cls, session: Session, room_id: int) -> Room | None:
        """The room, in one prepared statement; None if the replica has never heard of it."""
        rows = _ROOM_BY_ID.rows(session, {"room_id": room_id})
        return cls(*rows[0]) if rows else None

    @classmethod
    def get(cls, session: Session, room_id: int) -> Room:
        """A room a reservation refers to (the foreign key guarantees it)."""
        room = cls.find(session, room_id)
        assert room is not None
        return room


# The columns in the order of Room's fields (a field the table lacks fails here, at import).
_ROOM_BY_ID = prepared(
    sa.select(*(RoomReplica.__table__.c[field.name] for field in fields(Room))).where(
        RoomReplica.__table__.c.id == sa.bindparam("room_id")
    )
)


class UserReplica(db.Model):  # type: ignore[name-defined,misc]
    """Enough of each user to refuse a removed one and to know the current role."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(sa.String(20))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    is_deleted: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    version: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    @property
    def may_sign_in(self) -> bool:
        return self.is_active and not self.is_deleted
