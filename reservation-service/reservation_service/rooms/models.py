"""The local replica of the room catalogue, built from room events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import db, utcnow


class RoomReplica(db.Model):  # type: ignore[name-defined,misc]
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
    max_days_ahead: Mapped[int | None] = mapped_column(sa.Integer)
    max_duration_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    buffer_minutes: Mapped[int] = mapped_column(sa.Integer, default=0)
    opening_hours: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    requires_check_in: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    check_in_minutes: Mapped[int] = mapped_column(sa.Integer, default=15)
    version: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    @property
    def bookable(self) -> bool:
        return self.is_active and not self.is_deleted
