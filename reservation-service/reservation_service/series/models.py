"""The series table and its API schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from reservation_service.reservations.models import (
    ReservationRead,
    attendees_field,
    local_time_field,
    purpose_field,
    room_id_field,
)
from reservation_service.times import AwareDateTime
from servicekit.db import Timestamped, db
from servicekit.schemas import Integer, PartialUpdate, StrictSchema

FAIL, SKIP = "fail", "skip"


class ReservationSeries(db.Model, Timestamped):  # type: ignore[name-defined,misc]
    __tablename__ = "reservation_series"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    room_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("rooms.id"))
    user_id: Mapped[int] = mapped_column(sa.BigInteger)
    rrule: Mapped[str] = mapped_column(sa.String(500))
    start_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))  # the first occurrence
    end_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    purpose: Mapped[str | None] = mapped_column(sa.String(500))
    attendees: Mapped[int] = mapped_column(sa.Integer, default=1)
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)  # as answered on creation


class SeriesCreate(StrictSchema):
    room_id = room_id_field(required=True)
    start_time = local_time_field(required=True, metadata={"description": "The first occurrence's start."})
    end_time = local_time_field(required=True, metadata={"description": "The first occurrence's end."})
    rrule = ma.fields.String(
        required=True,
        metadata={
            "description": "RFC 5545 RRULE value (an `RRULE:` prefix is accepted): FREQ DAILY, WEEKLY or MONTHLY; "
            "INTERVAL, BYDAY, BYMONTHDAY; exactly one of COUNT or UNTIL; at most 365 occurrences.",
            "example": "FREQ=WEEKLY;BYDAY=TU;COUNT=10",
        },
    )
    purpose = purpose_field(load_default=None)
    attendees = attendees_field(load_default=1)
    on_conflict = ma.fields.String(
        load_default=FAIL,
        validate=ma.validate.OneOf([FAIL, SKIP]),
        metadata={"description": "`fail`: all or nothing; `skip`: book the others and list these in `skipped`."},
    )


class SeriesUpdate(PartialUpdate):
    """Changes the occurrences that have not started yet."""

    purpose = purpose_field()
    attendees = attendees_field()


class SeriesCancelQuery(ma.Schema):
    from_ = AwareDateTime(
        data_key="from",
        metadata={
            "description": "Cancel the confirmed occurrences starting at or after this (default and minimum: now)."
        },
    )


class Skipped(ma.Schema):
    start_time = ma.fields.String(metadata={"format": "date-time"})
    end_time = ma.fields.String(metadata={"format": "date-time"})
    reason = ma.fields.String(metadata={"description": "`conflict` or `policy`."})
    conflicts = ma.fields.List(ma.fields.Dict())
    errors = ma.fields.List(ma.fields.Dict())


class SeriesRead(ma.Schema):
    id = Integer()
    room_id = Integer()
    user_id = Integer()
    rrule = ma.fields.String()
    start_time = ma.fields.String(metadata={"format": "date-time"})
    end_time = ma.fields.String(metadata={"format": "date-time"})
    purpose = ma.fields.String(allow_none=True)
    attendees = Integer()
    reservations = ma.fields.List(ma.fields.Nested(ReservationRead))
    skipped = ma.fields.List(ma.fields.Nested(Skipped))
