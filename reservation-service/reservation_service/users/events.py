"""User events: a deleted user's reservations that have not ended are cancelled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from reservation_service.reservations.models import Reservation
from reservation_service.reservations.service import cancel_unfinished


def on_user_deleted(session: Session, envelope: Mapping[str, Any]) -> None:
    cancel_unfinished(session, Reservation.user_id == int(envelope["aggregate_id"]), "user deleted")
