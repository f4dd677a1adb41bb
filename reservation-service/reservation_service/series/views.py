"""Recurring meeting endpoints: thin wrappers over the series service functions."""

from __future__ import annotations

from typing import Any

from flask import url_for

from reservation_service.reservations.views import current_limits
from reservation_service.series import service
from reservation_service.series.models import SeriesCancelQuery, SeriesCreate, SeriesRead, SeriesUpdate
from servicekit.auth import current_principal
from servicekit.db import current_session
from servicekit.openapi import ProblemBlueprint

blp = ProblemBlueprint("series", __name__, url_prefix="/reservation-series", description="Recurring meetings")


@blp.post("")
@blp.arguments(SeriesCreate)
@blp.response(201, SeriesRead)
@blp.problems(
    (409, "With `fail`, an occurrence overlaps: `conflicts` per occurrence."),
    (422, "A bad rule, or an occurrence breaks a policy or the quota."),
)
def create_series(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Book a recurring meeting: every occurrence an ordinary reservation."""
    session = current_session()
    series, room, booked = service.create_series(
        session=session, series_in=body, user=current_principal(), limits=current_limits()
    )
    session.commit()
    location = url_for("series.get_series", series_id=series.id)
    return service.to_dict(series, room.timezone, booked), {"Location": location}


@blp.get("/<id:series_id>")
@blp.response(200, SeriesRead)
@blp.problems((404, "No such series of the caller's."))
def get_series(series_id: int) -> dict[str, Any]:
    """A series with every occurrence, in any status."""
    series, room, occurrences = service.get_series(
        session=current_session(), series_id=series_id, viewer=current_principal()
    )
    return service.to_dict(series, room.timezone, occurrences)


@blp.patch("/<id:series_id>")
@blp.arguments(SeriesUpdate)
@blp.response(200, SeriesRead)
@blp.problems((404, "No such series of the caller's."), (422, "Bad fields, or more attendees than the room holds."))
def update_series(body: dict[str, Any], series_id: int) -> dict[str, Any]:
    """Change purpose or attendees of the occurrences not yet started."""
    session = current_session()
    series, room, occurrences = service.update_series(
        session=session, series_id=series_id, changes=body, user=current_principal()
    )
    session.commit()
    return service.to_dict(series, room.timezone, occurrences)


@blp.delete("/<id:series_id>")
@blp.arguments(SeriesCancelQuery, location="query")
@blp.response(204)
@blp.problems((404, "No such series of the caller's."))
def cancel_series(query: dict[str, Any], series_id: int) -> None:
    """Cancel the confirmed occurrences starting at or after `from` (default and minimum: now)."""
    session = current_session()
    service.cancel_series(session=session, series_id=series_id, user=current_principal(), from_=query.get("from_"))
    session.commit()
