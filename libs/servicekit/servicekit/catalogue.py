"""The room catalogue as every service sees it: the room service owns the rooms, the reservation service
keeps a replica from room events. Both store a room's booking policy the same way and show the same summary."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.schemas import Integer

# What a room without a policy of its own means (the contract's defaults); also what an event from before
# policies existed stands for.
POLICY_DEFAULTS: dict[str, Any] = {
    "max_days_ahead": 365,
    "max_duration_minutes": None,
    "buffer_minutes": 0,
    "opening_hours": None,
    "requires_check_in": False,
    "check_in_minutes": 15,
}


class PolicyColumns:
    """A room's booking policy: how far ahead, how long, the buffer after each meeting, opening hours, check-in."""

    max_days_ahead: Mapped[int | None] = mapped_column(sa.Integer)
    max_duration_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    buffer_minutes: Mapped[int] = mapped_column(sa.Integer, default=0)
    opening_hours: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))  # None: SQL NULL
    requires_check_in: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    check_in_minutes: Mapped[int] = mapped_column(sa.Integer, default=15)


class RoomSummary(ma.Schema):
    """A room as lists show it."""

    id = Integer()
    name = ma.fields.String()
    capacity = Integer()
    equipment = ma.fields.List(ma.fields.String())
    building = ma.fields.String(allow_none=True)
    floor = ma.fields.String(allow_none=True)
    timezone = ma.fields.String()
