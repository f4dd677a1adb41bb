"""Calendar endpoints: the caller's feed URL, the feeds themselves (the secret in the URL is the credential),
and one reservation as .ics."""

from __future__ import annotations

import hashlib

import marshmallow as ma
from flask import Response, current_app, request

from reservation_service.calendar import ics, secrets
from reservation_service.replica.models import Room, UserReplica
from reservation_service.reservations import service as reservations
from servicekit.auth import current_principal
from servicekit.db import current_session, statements_commit_alone
from servicekit.openapi import ProblemBlueprint
from servicekit.problems import Problem

blp = ProblemBlueprint("calendar", __name__, url_prefix="/calendar", description="Calendar feeds")
FEEDS_PREFIX = "/calendar/feeds/"
CALENDAR = "text/calendar; charset=utf-8"
ICS_RESPONSE = {
    "200": {"description": "An RFC 5545 calendar.", "content": {"text/calendar": {"schema": {"type": "string"}}}}
}


class FeedUrl(ma.Schema):
    url = ma.fields.String(metadata={"description": "Secret: whoever has it can read your bookings."})


def _key() -> bytes:
    key = current_app.extensions["reservation_settings"].calendar_feed_key
    if key is None:
        raise Problem(404, "Calendar feeds are not enabled on this server (CALENDAR_FEED_KEY).")
    return str(key).encode()


def _url(secret: str) -> dict[str, str]:
    base = current_app.extensions["reservation_settings"].public_base_url or request.host_url.rstrip("/")
    return {"url": f"{base}{FEEDS_PREFIX}{secret}.ics"}


def _ics(body: bytes) -> Response:
    """The calendar with a strong ETag; 304 when the client has it already (calendar apps poll often)."""
    etag = hashlib.sha256(body).hexdigest()[:32]
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = CALENDAR
    response.headers["Cache-Control"] = "private, no-cache"
    response.set_etag(etag)
    if request.if_none_match.contains(etag):
        response.status_code = 304
        response.set_data(b"")
        del response.headers["Content-Type"]
    return response


def _feed_owner(secret: str) -> UserReplica | int:
    session = current_session()
    user_id = secrets.user_of(session, _key(), secret)
    if user_id is None:
        raise Problem(404, "No calendar feed has this address.")
    user = session.get(UserReplica, user_id)
    if user is not None and not user.may_sign_in:
        raise Problem(404, "No calendar feed has this address.")
    return user if user is not None else user_id


@blp.get("/feed")
@blp.response(200, FeedUrl)
def feed_url() -> dict[str, str]:
    """Your feed's secret URL, the same each time until you reset it."""
    return _url(secrets.secret_for(current_session(), _key(), current_principal().user_id))


@blp.post("/feed/reset")
@blp.response(200, FeedUrl)
def reset_feed_url() -> dict[str, str]:
    """A new secret URL for your feed; the old one stops working at once."""
    session = current_session()
    url = _url(secrets.reset(session, _key(), current_principal().user_id))
    session.commit()
    return url


@blp.get("/feeds/<secret>.ics")
@statements_commit_alone
@blp.doc(security=[], responses=ICS_RESPONSE)
@blp.problems((404, "No feed has this address (or it was reset)."))
def user_feed(secret: str) -> Response:
    """Your bookings that ended at most 30 days ago or later; no bearer token (the URL is the secret)."""
    owner = _feed_owner(secret)
    user_id = owner if isinstance(owner, int) else owner.id
    return _ics(ics.user_feed(current_session(), user_id))


@blp.get("/feeds/<secret>/rooms/<id:room_id>.ics")
@statements_commit_alone
@blp.doc(security=[], responses=ICS_RESPONSE)
@blp.problems((404, "No such feed or room."))
def room_feed(secret: str, room_id: int) -> Response:
    """A room's bookings from 7 days back to 90 ahead: yours in full, others' as Busy."""
    owner = _feed_owner(secret)
    room = Room.find(current_session(), room_id)
    if room is None or room.is_deleted:
        raise Problem(404, f"Room {room_id} does not exist.")
    user_id, is_admin = (owner, False) if isinstance(owner, int) else (owner.id, owner.role == "admin")
    return _ics(ics.room_feed(current_session(), room, viewer_id=user_id, viewer_is_admin=is_admin))


@blp.get("/reservations/<id:reservation_id>.ics")
@statements_commit_alone
@blp.doc(responses=ICS_RESPONSE)
@blp.problems((404, "No such reservation of the caller's."))
def reservation_ics(reservation_id: int) -> Response:
    """One reservation as .ics, to add to your calendar."""
    reservation, room = reservations.get_visible(
        session=current_session(), reservation_id=reservation_id, viewer=current_principal()
    )
    return _ics(ics.single(reservation, room))
