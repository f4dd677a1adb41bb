"""URL converters: ids are positive bigints; anything else names nothing (404)."""

from __future__ import annotations

from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter

MAX_BIGINT = 2**63 - 1


class IdConverter(BaseConverter):
    regex = r"[0-9]+"  # ASCII digits only: r"\d" would also take Arabic-Indic or full-width digits
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_BIGINT:
            # NotFound rather than a routing miss: with one rule per method on the same path, a miss in
            # every rule would read as 405 Method Not Allowed instead of 404.
            raise NotFound(f"No resource has the id {value}.")
        return number

    def to_url(self, value: object) -> str:
        return str(value)
