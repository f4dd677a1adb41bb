"""The reservation table and its API schemas."""

from __future__ import annotations

from datetime import datetime

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reservation_service.times import AwareDateTime
from servicekit.db import Timestamped, Versioned, db
from servicekit.pagination import PageQuery
from servicekit.schemas import Integer, PartialUpdate, StrictSchema

CONFIRMED = "confirmed"
CANCELLED = "cancelled"
RELEASED = "released"  # a no-show in a room that requires check-in; history like a cancelled one
STATUSES = (CONFIRMED, CANCELLED, RELEASED)


class Reservation(db.Model, Versioned, Timestamped):  # type: ignore[name-defined,misc]
    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    room_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("rooms.id"))
    user_id: Mapped[int] = mapped_column(sa.BigInteger)
    start_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    end_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    # end_time plus the room's buffer when the reservation was made or last moved: the time it keeps the
    # room from others, [start_time, occupied_until). The exclusion constraint is on this range.
    occupied_until: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    purpose: Mapped[str | None] = mapped_column(sa.String(500))
    attendees: Mapped[int] = mapped_column(sa.Integer, default=1)
    status: Mapped[str] = mapped_column(sa.String(20), default=CONFIRMED)
    cancelled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))
    series_id: Mapped[int | None] = mapped_column(sa.BigInteger, sa.ForeignKey("reservation_series.id"))
    checked_in_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        ExcludeConstraint(
            (room_id, "="),
            (sa.func.tstzrange(start_time, occupied_until, "[)"), "&&"),
            name="no_double_booking",
            using="gist",
            where=sa.text("status = 'confirmed'"),
        ),
    )


def instant_param(name: str) -> sa.ColumnElement[datetime]:
    """A bound instant, cast: a prepared statement's parameter gets its type from the cast, not from an
    expression around it (in `$1 + interval '5 minutes'` PostgreSQL would take $1 for an interval)."""
    instant = sa.DateTime(timezone=True)
    return sa.cast(sa.bindparam(name, type_=instant), instant)


def occupied_range() -> sa.ColumnElement[object]:
    """A reservation's occupied range as a tstzrange: the expression the exclusion constraint and the index on
    the confirmed reservations' ranges (migration 0010) are built on, so a test written with it uses them."""
    return sa.func.tstzrange(Reservation.start_time, Reservation.occupied_until, "[)")


def overlapping(start: sa.ColumnElement[datetime], until: sa.ColumnElement[datetime]) -> sa.ColumnElement[bool]:
    """A reservation's occupied range [start_time, occupied_until) overlaps [start, until). With the room's id
    given too, the index on (room_id, occupied_until) answers it from the room's reservations that end after
    `start` (its upcoming ones), not its whole history."""
    return sa.and_(Reservation.occupied_until > start, Reservation.start_time < until)


MAX_ID = 2**63 - 1
LOCAL_TIME_DOC = (
    "ISO 8601 date and time; with an offset (`+02:00`, `Z`), or without one to be read in the room's time zone."
)


def room_id_field(**kwargs: object) -> Integer:
    return Integer(strict=True, validate=ma.validate.Range(min=1, max=MAX_ID), **kwargs)  # type: ignore[arg-type]


def local_time_field(metadata: dict[str, str] | None = None, **kwargs: object) -> ma.fields.Raw:
    # Parsed by the service, not here: a time without offset means something only in the room's zone.
    description = " ".join(filter(None, [(metadata or {}).get("description"), LOCAL_TIME_DOC]))
    return ma.fields.Raw(metadata={"type": "string", "format": "date-time", "description": description}, **kwargs)  # type: ignore[arg-type]


def purpose_field(**kwargs: object) -> ma.fields.String:
    return ma.fields.String(allow_none=True, validate=ma.validate.Length(max=500), **kwargs)  # type: ignore[arg-type]


def attendees_field(**kwargs: object) -> Integer:
    return Integer(strict=True, validate=ma.validate.Range(min=1, max=10000), **kwargs)  # type: ignore[arg-type]


class ReservationCreate(StrictSchema):
    room_id = room_id_field(required=True)
    start_time = local_time_field(required=True)
    end_time = local_time_field(required=True)
    purpose = purpose_field(load_default=None)
    attendees = attendees_field(load_default=1)


class ReservationUpdate(PartialUpdate):
    """PUT and PATCH alike: any subset of the writable fields."""

    room_id = room_id_field()
    start_time = local_time_field()
    end_time = local_time_field()
    purpose = purpose_field()
    attendees = attendees_field()


class ReservationRead(ma.Schema):
    id = Integer()
    room_id = Integer()
    user_id = Integer()
    start_time = ma.fields.String(metadata={"format": "date-time"})
    end_time = ma.fields.String(metadata={"format": "date-time"})
    purpose = ma.fields.String(allow_none=True)
    attendees = Integer()
    status = ma.fields.String(metadata={"enum": list(STATUSES)})
    created_at = ma.fields.String(metadata={"format": "date-time"})
    updated_at = ma.fields.String(metadata={"format": "date-time"})
    cancelled_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    cancel_reason = ma.fields.String(allow_none=True)
    series_id = Integer(allow_none=True, metadata={"description": "The series it belongs to, if any."})
    checked_in_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})


class ReservationListQuery(PageQuery):
    room_id = Integer(validate=ma.validate.Range(min=1, max=MAX_ID))
    user_id = Integer(validate=ma.validate.Range(min=1, max=MAX_ID), metadata={"description": "Admins only."})
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    from_ = AwareDateTime(data_key="from", metadata={"description": "Reservations ending after this instant."})
    to = AwareDateTime(metadata={"description": "Reservations starting before this instant."})


# A reservation points to its series: every process that loads reservations (web, consumer, scheduler) must
# know the series table too, or SQLAlchemy cannot resolve the foreign key.
from reservation_service.series import models as _series_models  # noqa: E402, F401
