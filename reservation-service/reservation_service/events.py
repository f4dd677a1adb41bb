"""What the consumer applies, by topic and event type."""

from __future__ import annotations

from collections.abc import Mapping

from reservation_service.rooms import events as room_events
from reservation_service.users import events as user_events
from servicekit.consumer import Handler

HANDLERS: Mapping[str, Mapping[str, Handler]] = {
    "room_events": room_events.HANDLERS,
    "user_events": user_events.HANDLERS,
}
