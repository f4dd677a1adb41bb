"""URL converters: ids are positive bigints, anything else does not route (404)."""

from __future__ import annotations

from werkzeug.routing import BaseConverter, ValidationError

MAX_BIGINT = 2**63 - 1


class IdConverter(BaseConverter):
    regex = r"\d{1,19}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_BIGINT:
            raise ValidationError()
        return number

    def to_url(self, value: object) -> str:
        return str(value)
