"""The room table and its API schemas."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import db, utcnow
from servicekit.pagination import PageQuery
from servicekit.schemas import StrictBoolean, StrictSchema


class Room(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    capacity: Mapped[int] = mapped_column(sa.Integer)
    equipment: Mapped[list[str]] = mapped_column(ARRAY(sa.String(100)), default=list)
    building: Mapped[str | None] = mapped_column(sa.String(200))
    floor: Mapped[str | None] = mapped_column(sa.String(50))
    description: Mapped[str | None] = mapped_column(sa.Text)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.Index("uq_rooms_name_lower", sa.func.lower(name), unique=True),)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


class Equipment(ma.fields.Field[list[str]]):
    """A list of tags, or the original API's comma-separated string; stored as unique lower-case tags."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ma.ValidationError("Must be a list of strings or a comma-separated string.")
        tags: list[str] = []
        for item in items:
            tag = " ".join(item.split()).lower()
            if len(tag) > 100:
                raise ma.ValidationError("Each item must be at most 100 characters.")
            if tag and tag not in tags:
                tags.append(tag)
        return tags

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> list[str]:
        return list(value or [])


def _validate_timezone(value: str) -> None:
    if value not in _zones():
        raise ma.ValidationError("Must be an IANA time zone such as Europe/Berlin.")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("Must not be blank.")


class RoomCreate(StrictSchema):
    name = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=200), _not_blank])
    capacity = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=10000))
    equipment = Equipment(load_default=list)
    building = ma.fields.String(allow_none=True, load_default=None, validate=ma.validate.Length(max=200))
    floor = ma.fields.String(allow_none=True, load_default=None, validate=ma.validate.Length(max=50))
    description = ma.fields.String(allow_none=True, load_default=None, validate=ma.validate.Length(max=5000))
    timezone = ma.fields.String(load_default="UTC", validate=_validate_timezone)
    is_active = StrictBoolean(load_default=True)

    @ma.post_load
    def _strip_name(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["name"] = data["name"].strip()
        return data


class RoomRead(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    capacity = ma.fields.Integer()
    equipment = Equipment()
    building = ma.fields.String(allow_none=True)
    floor = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)
    timezone = ma.fields.String()
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class RoomListQuery(PageQuery):
    is_active = ma.fields.Boolean(load_default=True)
