"""Tokens of users the service has heard are deleted or inactive stop working here at once, and the role
the user events last told wins over the token's."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from flask import Flask, g, request
from sqlalchemy.orm import Session

from servicekit.db import current_session
from servicekit.prepared import PreparedStatement
from servicekit.problems import unauthorized

# Bookings of one user and that user's deletion are serialized on this key (shared by bookings, exclusive
# for the deletion), so a booking can never slip in after the deletion has cancelled the user's bookings.
_USER_LOCK_KEY = sa.func.hashtextextended(sa.func.concat("reservation-user:", sa.bindparam("user_id")), 0)
_SHARED, _EXCLUSIVE = (
    sa.func.pg_advisory_xact_lock_shared(_USER_LOCK_KEY),
    sa.func.pg_advisory_xact_lock(_USER_LOCK_KEY),
)
_HOLD = {False: sa.select(_SHARED), True: sa.select(_EXCLUSIVE)}
# Prepared, through the driver: this runs before every request (the ORM's loading, or even a Core statement's
# execution context and planning, cost more CPU than the query).
_USER_STATE = PreparedStatement("SELECT role, is_active, is_deleted FROM users WHERE id = $1", ("user_id",))


def _user_state(session: Session, user_id: int) -> Any:
    """The user's role, is_active and is_deleted as the replica knows them, or None if it has not heard of them."""
    rows = _USER_STATE.rows(session, {"user_id": user_id})
    return rows[0] if rows else None


def _gone(user: Any) -> bool:
    return bool(user.is_deleted or not user.is_active)


def install_user_check(app: Flask) -> None:
    """Runs after authentication: 401 for a user known to be gone, the replica's role for a known one."""

    @app.before_request
    def _user_still_active() -> None:
        principal = g.get("principal")
        if principal is None or request.routing_exception is not None:
            return
        user = _user_state(current_session(), principal.user_id)
        if user is None:  # not heard of yet (a brand-new user): the token alone decides
            return
        if _gone(user):
            raise unauthorized("This account is no longer active.", token_given=True)
        if user.role != principal.role:
            g.principal = dataclasses.replace(principal, role=user.role)


def hold_for_booking(session: Session, user_id: int, *, exclusive: bool = False) -> None:
    """Call before bookings are written, in their transaction: waits for a deletion of the user in progress,
    then refuses if the user is gone (the check reads the database, not the session's cached object).
    Exclusive where the user's bookings must also serialize with each other (the quota). A single booking
    does the same inside book_reservation (booking.book)."""
    session.execute(_HOLD[exclusive], {"user_id": user_id})
    user = _user_state(session, user_id)
    if user is not None and _gone(user):
        raise unauthorized("This account is no longer active.", token_given=True)


def hold_for_deletion(session: Session, user_id: int) -> None:
    """Call first when applying a user's deletion: waits for that user's bookings in flight to commit."""
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(_USER_LOCK_KEY)), {"user_id": user_id})
