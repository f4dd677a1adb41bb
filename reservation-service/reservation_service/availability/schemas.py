"""Availability queries and answers."""

from __future__ import annotations

import marshmallow as ma

from reservation_service.reservations.models import MAX_ID
from reservation_service.times import AwareDateTime, check_day
from servicekit.catalogue import RoomSummary
from servicekit.pagination import PageQuery
from servicekit.schemas import Integer


class DayQuery(ma.Schema):
    room_id = Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_ID))
    date = ma.fields.Date(
        required=True, validate=check_day, metadata={"description": "A local calendar day of the room (YYYY-MM-DD)."}
    )


class Interval(ma.Schema):
    id = Integer(metadata={"description": "Only on the caller's own bookings (admins: all)."})
    purpose = ma.fields.String(allow_none=True, metadata={"description": "Only on the caller's own bookings."})
    start_time = ma.fields.String(metadata={"format": "date-time"})
    end_time = ma.fields.String(metadata={"format": "date-time"})


class DayAvailability(ma.Schema):
    room_id = Integer()
    date = ma.fields.String(metadata={"format": "date"})
    timezone = ma.fields.String()
    booked = ma.fields.List(ma.fields.Nested(Interval))
    free = ma.fields.List(ma.fields.Nested(Interval))


class FreeRoomsQuery(PageQuery):
    start = AwareDateTime(required=True, metadata={"description": "With a UTC offset."})
    end = AwareDateTime(required=True, metadata={"description": "With a UTC offset."})
    min_capacity = Integer(validate=ma.validate.Range(min=1, max=10000))
    equipment = ma.fields.String(metadata={"description": "Comma-separated tags; a room must have them all."})

    @ma.validates_schema
    def _ordered(self, data: dict[str, object], **_: object) -> None:
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and start >= end:  # type: ignore[operator]
            raise ma.ValidationError("Must be after start.", field_name="end")


class FreeRoom(RoomSummary):
    """A room free for the whole window."""
