"""Schema helpers: strict inputs (unknown fields refused) and the problem body for the docs."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma

_ASCII_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


class StrictSchema(ma.Schema):
    """Request bodies: unknown fields are an error, never silently dropped."""

    class Meta:
        unknown = ma.RAISE


class ProblemSchema(ma.Schema):
    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Dict())


class StrictBoolean(ma.fields.Boolean):
    """JSON true or false only: no "yes", 1 or "on" in a body."""

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Integer(ma.fields.Integer):
    """An integer from a query string or a body: ASCII digits only.

    Python's int() also reads Arabic-Indic or full-width digits, which no client means as a number here.
    """

    def _validated(self, value: Any) -> int:
        if isinstance(value, str) and not _ASCII_INTEGER.fullmatch(value.strip()):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)  # type: ignore[no-any-return]


def not_blank(value: str) -> None:
    """A validator: text with something besides white space."""
    if not value.strip():
        raise ma.ValidationError("Must not be blank.")


class PartialUpdate(StrictSchema):
    """A PUT or PATCH body: any non-empty subset of the writable fields (read-only ones named in a 422)."""

    min_properties = 1  # documented as minProperties (servicekit.openapi)

    @ma.validates_schema
    def _something_to_update(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            writable = [name for name, field in self.load_fields.items() if not field.metadata.get("readOnly")]
            raise ma.ValidationError(f"Nothing to update: give at least one of {', '.join(writable)}.")
