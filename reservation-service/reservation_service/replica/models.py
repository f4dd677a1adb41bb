"""The replicas: what the reservation service keeps of the room catalogue and of the users, built only
from their services' events (see handlers)."""

from __future__ import annotations

from datetime import datetime

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

    @property
    def bookable(self) -> bool:
        return self.is_active and not self.is_deleted

    @classmethod
    def find(cls, session: Session, room_id: int) -> RoomReplica | None:
        """The room as a detached object to read, in one plain statement: on the booking path the ORM's
        identity map and loading machinery cost more CPU than the query (a replica row is never written here)."""
        rows = _ROOM_BY_ID.rows(session, {"room_id": room_id})
        return cls(**rows[0]._asdict()) if rows else None


_ROOM_BY_ID = prepared(sa.select(RoomReplica.__table__).where(RoomReplica.__table__.c.id == sa.bindparam("room_id")))


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
