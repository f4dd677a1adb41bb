"""Every forged or invalid token is refused with 401 by every service, through the gateway."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devstack.harness import Stack
from servicekit_testing import TestKeys, forgeries
from tests.test_slice import book, create_room

PROTECTED = ["/users/profile", "/admin/users", "/rooms", "/reservations", "/availability/rooms"]


@pytest.fixture(scope="module")
def stack_keys(stack: Stack) -> TestKeys:
    """The running stack's own signing key, so that only the forged part of each token is wrong."""
    (published,) = requests.get(f"{stack.gateway}/.well-known/jwks.json", timeout=10).json()["keys"]
    return TestKeys(stack.config.signing_key(), kid=published["kid"])


def test_a_well_formed_token_from_the_stack_key_is_accepted(stack: Stack, stack_keys: TestKeys) -> None:
    token = stack.token("attack-control@example.com", "employee")
    for path in ("/users/profile", "/rooms", "/reservations"):
        response = requests.get(f"{stack.gateway}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 200, (path, response.text)


@pytest.mark.parametrize("case", list(forgeries(TestKeys()).keys()))
def test_forged_tokens_are_401_at_every_service(stack: Stack, stack_keys: TestKeys, case: str) -> None:
    token = forgeries(stack_keys)[case]
    for path in PROTECTED:
        response = requests.get(f"{stack.gateway}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 401, (case, path, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.headers["Content-Type"] == "application/problem+json"


def test_deleting_a_user_cancels_their_pending_reservations(stack: Stack, admin: dict[str, str]) -> None:
    token = stack.token("leaving@example.com", "employee")
    leaving = {"Authorization": f"Bearer {token}"}
    user_id = requests.get(f"{stack.gateway}/users/profile", headers=leaving, timeout=10).json()["id"]
    room = create_room(stack, admin, "Farewell Room")
    start = (datetime.now(UTC) + timedelta(days=9)).replace(hour=9, minute=0, second=0, microsecond=0)
    deadline = time.monotonic() + 30
    while (
        created := book(stack, leaving, room["id"], start.isoformat(), (start + timedelta(hours=1)).isoformat())
    ).status_code == 422:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    reservation_id = created.json()["id"]
    assert requests.delete(f"{stack.gateway}/admin/users/{user_id}", headers=admin, timeout=10).status_code == 204
    while True:
        reservation = requests.get(f"{stack.gateway}/reservations/{reservation_id}", headers=admin, timeout=10).json()
        if reservation["status"] == "cancelled":
            break
        assert time.monotonic() < deadline + 30, "the user's deletion never reached the reservation service"
        time.sleep(0.2)
    assert reservation["cancel_reason"] == "user deleted"
    assert requests.get(f"{stack.gateway}/users/profile", headers=leaving, timeout=10).status_code == 401
