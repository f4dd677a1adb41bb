"""What the user events tell the reservation service: a removed user loses access at once, a demoted admin
their powers, and a booking racing a deletion cannot survive it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from reservation_service.access import hold_for_booking
from reservation_service.reservations import service
from reservation_service.reservations.policy import Limits
from servicekit.auth import Principal
from servicekit.inbox import apply_once
from servicekit.problems import Problem
from servicekit_testing import TestKeys
from tests.conftest import room_event, user_deleted
from tests.test_reservations import at, book

ApplyEvent = Callable[..., bool]


def user_event(user_id: int, event_type: str, version: int, **data: Any) -> dict[str, Any]:
    envelope = room_event(user_id, event_type, version=version)
    state = {"id": user_id, "email": f"u{user_id}@example.com", "role": "employee", "is_active": True, **data}
    envelope.update(producer="user-service", data=state)
    return envelope


def statuses(client: FlaskClient, admin: dict[str, str], user_id: int) -> list[str]:
    return [r["status"] for r in client.get(f"/reservations?user_id={user_id}", headers=admin).get_json()["items"]]


def test_a_deactivated_user_is_refused_and_keeps_bookings_until_reactivated(
    client: FlaskClient, employee: dict[str, str], admin: dict[str, str], room: int, apply_event: ApplyEvent
) -> None:
    assert book(client, employee, 10, 11).status_code == 201
    apply_event(user_event(2, "user_created", 1), "user_events")
    assert client.get("/reservations", headers=employee).status_code == 200
    apply_event(user_event(2, "user_updated", 2, is_active=False), "user_events")
    refused = client.post(
        "/reservations", json={"room_id": 1, "start_time": at(12), "end_time": at(13)}, headers=employee
    )
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert refused.content_type == "application/problem+json"
    assert statuses(client, admin, 2) == ["confirmed"]  # deactivation keeps bookings
    apply_event(user_event(2, "user_updated", 3, is_active=True), "user_events")
    assert client.get("/reservations", headers=employee).status_code == 200


def test_a_deleted_user_stays_deleted_whatever_arrives_late(
    client: FlaskClient, employee: dict[str, str], room: int, apply_event: ApplyEvent
) -> None:
    apply_event(user_deleted(2), "user_events")
    apply_event(user_event(2, "user_updated", 1, is_active=True), "user_events")  # older, redelivered late
    assert client.get("/reservations", headers=employee).status_code == 401
    assert book(client, employee, 10, 11).status_code == 401


def test_a_demoted_admin_acts_as_an_employee_at_once(
    client: FlaskClient, keys: TestKeys, room: int, apply_event: ApplyEvent
) -> None:
    still_admin_token = keys.headers(user_id=5, role="admin")
    apply_event(user_event(5, "user_created", 1, role="admin"), "user_events")
    assert client.get("/reservations?user_id=2", headers=still_admin_token).status_code == 200
    apply_event(user_event(5, "user_updated", 2, role="employee"), "user_events")
    assert client.get("/reservations?user_id=2", headers=still_admin_token).status_code == 403
    # and the other way round: a promoted employee need not wait for a new token
    apply_event(user_event(6, "user_created", 1, role="admin"), "user_events")
    assert client.get("/reservations?user_id=2", headers=keys.headers(user_id=6)).status_code == 200


def test_a_booking_racing_the_deletion_of_its_user_is_cancelled_with_the_rest(
    app: Flask, engine: sa.Engine, keys: TestKeys, room: int, apply_event: ApplyEvent
) -> None:
    """The booking's transaction has passed every check and written its row when the deletion arrives:
    the deletion waits for it, then cancels it too."""
    user = keys.claims(2, "employee")
    principal = Principal(user_id=2, email=user["email"], name=user["name"], role="employee")
    applied = threading.Event()
    with app.app_context(), Session(engine) as booking:
        reservation, _ = service.create_reservation(
            session=booking,
            reservation_in={"room_id": 1, "start_time": at(10), "end_time": at(11), "purpose": "", "attendees": 1},
            user=principal,
            limits=Limits(max_hours=12),
        )
        reservation_id = reservation.id

        def delete_user() -> None:
            with Session(engine) as consumer:
                apply_once(consumer, "user_events", user_deleted(2), _user_handlers())
            applied.set()

        deleting = threading.Thread(target=delete_user)
        deleting.start()
        assert not applied.wait(1.0), "the deletion did not wait for the booking in flight"
        booking.commit()
        deleting.join(30)
    assert applied.is_set()
    with engine.connect() as connection:
        status = connection.scalar(sa.text("SELECT status FROM reservations WHERE id = :id"), {"id": reservation_id})
    assert status == "cancelled"


def test_a_booking_after_the_deletion_is_refused_in_its_transaction(
    app: Flask, engine: sa.Engine, room: int, apply_event: ApplyEvent
) -> None:
    apply_event(user_deleted(2), "user_events")
    with app.app_context(), Session(engine) as session, pytest.raises(Problem) as refused:
        hold_for_booking(session, 2)
    assert refused.value.status == 401


def _user_handlers() -> Any:
    from reservation_service.replica.handlers import HANDLERS

    return HANDLERS["user_events"]
