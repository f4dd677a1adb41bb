"""Refresh tokens: rotated on every use; reuse revokes the family; inactive or deleted users cannot refresh."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from servicekit.db import current_session
from user_service.tokens.models import TokenPair
from user_service.users import service as users


@pytest.fixture
def signed_in(app: Flask) -> Any:
    """Sign a user in the way the callback does, returning its token pair."""

    def sign_in(email: str = "dana@example.com", role: str = "employee") -> dict[str, Any]:
        with app.app_context():
            session = current_session()
            user = users.ensure_user(session=session, email=email, role=role)
            pair = TokenPair().dump(app.extensions["token_issuer"].pair(session, user))
            session.commit()
            return pair  # type: ignore[no-any-return]

    return sign_in


def refresh(client: FlaskClient, token: str) -> Any:
    return client.post("/auth/refresh", json={"refresh_token": token})


def test_refresh_rotates_and_the_new_pair_works(client: FlaskClient, signed_in: Any) -> None:
    first = signed_in()
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    second = response.get_json()
    assert second["token_type"] == "Bearer" and second["expires_in"] == 900
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user"]["email"] == "dana@example.com"
    profile = client.get("/users/profile", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert profile.status_code == 200
    assert refresh(client, second["refresh_token"]).status_code == 200


def test_reusing_a_rotated_token_revokes_the_family(client: FlaskClient, signed_in: Any) -> None:
    first = signed_in()
    second = refresh(client, first["refresh_token"]).get_json()
    reused = refresh(client, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.headers["WWW-Authenticate"].startswith("Bearer")
    assert refresh(client, second["refresh_token"]).status_code == 401  # the thief's copy died too


def test_other_families_survive_a_reuse(client: FlaskClient, signed_in: Any) -> None:
    laptop, phone = signed_in(), signed_in()
    refresh(client, laptop["refresh_token"])
    refresh(client, laptop["refresh_token"])
    assert refresh(client, phone["refresh_token"]).status_code == 200


@pytest.mark.parametrize("token", ["unknown", "x" * 200])
def test_unknown_tokens_are_401(client: FlaskClient, token: str) -> None:
    assert refresh(client, token).status_code == 401


@pytest.mark.parametrize("body", [{}, {"refresh_token": ""}, {"refresh_token": 5}, {"refresh_token": "a", "x": 1}])
def test_malformed_refresh_bodies_are_422(client: FlaskClient, body: dict[str, Any]) -> None:
    assert client.post("/auth/refresh", json=body).status_code == 422


def test_logout_revokes_the_family_and_is_idempotent(client: FlaskClient, signed_in: Any) -> None:
    pair = signed_in()
    rotated = refresh(client, pair["refresh_token"]).get_json()
    assert client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]}).status_code == 204
    assert refresh(client, rotated["refresh_token"]).status_code == 401
    assert client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]}).status_code == 204
    assert client.post("/auth/logout", json={"refresh_token": "never-issued"}).status_code == 204


def test_deactivated_or_deleted_users_cannot_refresh_or_use_their_tokens(client: FlaskClient, signed_in: Any) -> None:
    admin = signed_in("root@example.com", "admin")
    admin_headers = {"Authorization": f"Bearer {admin['access_token']}"}
    erin, frank = signed_in("erin@example.com"), signed_in("frank@example.com")
    erin_id, frank_id = erin["user"]["id"], frank["user"]["id"]
    assert client.patch(f"/admin/users/{erin_id}", json={"is_active": False}, headers=admin_headers).status_code == 200
    assert refresh(client, erin["refresh_token"]).status_code == 401
    erin_headers = {"Authorization": f"Bearer {erin['access_token']}"}
    assert client.get("/users/profile", headers=erin_headers).status_code == 401
    assert client.delete(f"/admin/users/{frank_id}", headers=admin_headers).status_code == 204
    assert refresh(client, frank["refresh_token"]).status_code == 401
    frank_headers = {"Authorization": f"Bearer {frank['access_token']}"}
    assert client.get("/users/profile", headers=frank_headers).status_code == 401
