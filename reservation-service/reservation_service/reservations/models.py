"""The reservation table and its API schemas."""

from __future__ import annotations

from datetime import datetime

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import db, utcnow
from servicekit.pagination import PageQuery
from servicekit.schemas import StrictSchema

CONFIRMED = "confirmed"
CANCELLED = "cancelled"


class Reservation(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    room_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("rooms.id"))
    user_id: Mapped[int] = mapped_column(sa.BigInteger)
    start_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    end_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    purpose: Mapped[str | None] = mapped_column(sa.String(500))
    attendees: Mapped[int] = mapped_column(sa.Integer, default=1)
    status: Mapped[str] = mapped_column(sa.String(20), default=CONFIRMED)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))

    __table_args__ = (
        ExcludeConstraint(
            (room_id, "="),
            (sa.func.tstzrange(start_time, end_time, "[)"), "&&"),
            name="no_double_booking",
            using="gist",
            where=sa.text("status = 'confirmed'"),
        ),
    )


class ReservationCreate(StrictSchema):
    room_id = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=2**63 - 1))
    # Times are parsed by the service: their meaning depends on the room's time zone.
    start_time = ma.fields.Raw(required=True, metadata={"type": "string", "format": "date-time"})
    end_time = ma.fields.Raw(required=True, metadata={"type": "string", "format": "date-time"})
    purpose = ma.fields.String(allow_none=True, load_default=None, validate=ma.validate.Length(max=500))
    attendees = ma.fields.Integer(load_default=1, strict=True, validate=ma.validate.Range(min=1, max=10000))


class ReservationRead(ma.Schema):
    id = ma.fields.Integer()
    room_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    start_time = ma.fields.String(metadata={"format": "date-time"})
    end_time = ma.fields.String(metadata={"format": "date-time"})
    purpose = ma.fields.String(allow_none=True)
    attendees = ma.fields.Integer()
    status = ma.fields.String()
    created_at = ma.fields.String(metadata={"format": "date-time"})
    updated_at = ma.fields.String(metadata={"format": "date-time"})
    cancelled_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    cancel_reason = ma.fields.String(allow_none=True)


class ReservationListQuery(PageQuery):
    pass
