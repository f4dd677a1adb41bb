"""The room table and its API schemas."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, validates

from room_service.rooms.names import has_visible_character, name_key
from room_service.rooms.policy import PolicyCreate, PolicyRead, PolicyUpdate
from servicekit.catalogue import PolicyColumns, RoomSummary
from servicekit.db import Timestamped, Versioned, db
from servicekit.pagination import PageQuery
from servicekit.schemas import Integer, PartialUpdate, StrictBoolean, StrictSchema

MAX_CAPACITY = 10000
MAX_TAG_LENGTH = 100


class Room(db.Model, PolicyColumns, Versioned, Timestamped):  # type: ignore[name-defined,misc]
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # What uniqueness is judged on (see names.name_key); kept in step with `name` by _keep_name_key.
    name_key: Mapped[str] = mapped_column(sa.Text)
    capacity: Mapped[int] = mapped_column(sa.Integer)
    equipment: Mapped[list[str]] = mapped_column(ARRAY(sa.String(MAX_TAG_LENGTH)), default=list)
    building: Mapped[str | None] = mapped_column(sa.String(200))
    floor: Mapped[str | None] = mapped_column(sa.String(50))
    description: Mapped[str | None] = mapped_column(sa.Text)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)

    __table_args__ = (
        sa.Index("uq_rooms_name_key", name_key, unique=True),
        sa.Index("ix_rooms_equipment", equipment, postgresql_using="gin"),
        sa.Index("ix_rooms_building_lower", sa.func.lower(building)),
    )

    @validates("name")
    def _keep_name_key(self, _: str, value: str) -> str:
        self.name_key = name_key(value)
        return value


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def normalize_tags(items: Iterable[str]) -> list[str]:
    """Lower-case, whitespace-collapsed, unique tags in their first order; blanks dropped."""
    tags: list[str] = []
    for item in items:
        tag = " ".join(item.split()).lower()  # NUL characters are refused for every service in servicekit
        if len(tag) > MAX_TAG_LENGTH:
            raise ma.ValidationError(f"Each item must be at most {MAX_TAG_LENGTH} characters.")
        if tag and tag not in tags:
            tags.append(tag)
    return tags


class Equipment(ma.fields.Field[list[str]]):
    """A list of tags, or the original API's comma-separated string; stored as unique lower-case tags."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "metadata",
            {
                "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
                "description": 'Tags as a list, or comma-separated ("Projector, Whiteboard"); stored lower-case.',
            },
        )
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ma.ValidationError("Must be a list of strings or a comma-separated string.")
        return normalize_tags(items)


class TagFilter(ma.fields.String):
    """A query parameter of comma-separated tags, normalized as stored tags are."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:  # type: ignore[override]
        return normalize_tags(super()._deserialize(value, attr, data, **kwargs).split(","))


class ReadOnly(ma.fields.Field[Any]):
    """A field of the read shape that a body may not set: named in a 422 rather than silently dropped."""

    def __init__(self) -> None:
        super().__init__(metadata={"readOnly": True, "description": "Read-only; a body that sets it is refused."})

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        if value is ma.missing:
            return ma.missing
        raise ma.ValidationError("Read-only field; it cannot be set.")


def _validate_timezone(value: str) -> None:
    if value not in _zones():
        raise ma.ValidationError("Must be an IANA time zone such as Europe/Berlin.")


def _visible(value: str) -> None:
    if not has_visible_character(value):
        raise ma.ValidationError("Must contain a visible character.")


NAME_RULES: list[Callable[[str], Any]] = [ma.validate.Length(min=1, max=200), _visible]
CAPACITY_RULE = ma.validate.Range(min=1, max=MAX_CAPACITY)


def _strip_name(data: dict[str, Any]) -> dict[str, Any]:
    if "name" in data:
        data["name"] = data["name"].strip()
    return data


class RoomCreate(StrictSchema, PolicyCreate):
    name = ma.fields.String(required=True, validate=NAME_RULES)
    capacity = Integer(required=True, strict=True, validate=CAPACITY_RULE)
    equipment = Equipment(load_default=list)
    building = ma.fields.String(allow_none=True, load_default=None, validate=ma.validate.Length(max=200))
    floor = ma.fields.String(allow_none=True, load_default=None, validate=ma.validate.Length(max=50))
    description = ma.fields.String(allow_none=True, load_default=None, validate=ma.validate.Length(max=5000))
    timezone = ma.fields.String(load_default="UTC", validate=_validate_timezone)
    is_active = StrictBoolean(load_default=True)

    @ma.post_load
    def _strip_name(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return _strip_name(data)


class RoomUpdate(PartialUpdate, PolicyUpdate):
    """Any non-empty subset of the writable fields, validated as on create; PUT and PATCH alike."""

    name = ma.fields.String(validate=NAME_RULES)
    capacity = Integer(strict=True, validate=CAPACITY_RULE)
    equipment = Equipment()
    building = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    floor = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=50))
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=5000))
    timezone = ma.fields.String(validate=_validate_timezone)
    is_active = StrictBoolean()
    id = ReadOnly()
    created_at = ReadOnly()
    updated_at = ReadOnly()

    @ma.post_load
    def _strip_name(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return _strip_name(data)


class RoomRead(PolicyRead, RoomSummary):  # the summary's fields first
    description = ma.fields.String(allow_none=True)
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class RoomListQuery(PageQuery):
    min_capacity = Integer(
        validate=CAPACITY_RULE, metadata={"description": "Only rooms holding at least this many people."}
    )
    equipment = TagFilter(
        metadata={
            "description": "Comma-separated tags; a room must have all of them.",
            "example": "projector,whiteboard",
        }
    )
    building = ma.fields.String(metadata={"description": "The building, exactly but ignoring case."})
    floor = ma.fields.String(metadata={"description": 'The floor, exactly ("3", "B1").'})
    q = ma.fields.String(metadata={"description": "Text found in the name or the description, ignoring case."})
    is_active = ma.fields.Boolean(load_default=True, metadata={"description": "Active rooms (default) or inactive."})
