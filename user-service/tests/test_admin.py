"""User administration, the last-admin rule, and who may call what."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from servicekit.db import current_session
from user_service.users import service as users


@pytest.fixture
def make_user(app: Flask) -> Any:
    def make(email: str, role: str = "employee", name: str = "") -> tuple[int, dict[str, str]]:
        with app.app_context():
            session = current_session()
            user = users.ensure_user(session=session, email=email, role=role, name=name)
            session.commit()
            token = app.extensions["token_issuer"].access_token(user)
            return user.id, {"Authorization": f"Bearer {token}"}

    return make


def test_list_search_and_filter(client: FlaskClient, make_user: Any) -> None:
    _, admin = make_user("boss@example.com", "admin", "The Boss")
    make_user("alice@example.com", name="Alice Liddell")
    make_user("bob@corp.example", name="Bob 100%_sure")
    everyone = client.get("/admin/users", headers=admin).get_json()
    assert everyone["total"] == 3
    assert everyone["items"][0]["email"] == "boss@example.com"
    assert [u["email"] for u in client.get("/admin/users?q=LIDDELL", headers=admin).get_json()["items"]] == [
        "alice@example.com"
    ]
    assert [u["email"] for u in client.get("/admin/users?q=corp", headers=admin).get_json()["items"]] == [
        "bob@corp.example"
    ]
    assert client.get("/admin/users?q=%25_", headers=admin).get_json()["total"] == 1  # % and _ are literal
    assert [u["role"] for u in client.get("/admin/users?role=admin", headers=admin).get_json()["items"]] == ["admin"]
    assert client.get("/admin/users?role=boss", headers=admin).status_code == 422
    assert client.get("/admin/users?per_page=201", headers=admin).status_code == 422


def test_update_user_emits_event_and_changes_only_what_was_asked(
    client: FlaskClient, make_user: Any, engine: sa.Engine
) -> None:
    _, admin = make_user("boss@example.com", "admin")
    user_id, _ = make_user("carl@example.com")
    response = client.put(f"/admin/users/{user_id}", json={"role": "admin", "name": "Carl"}, headers=admin)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["role"], body["name"], body["is_active"]) == ("admin", "Carl", True)
    with engine.connect() as connection:
        last = connection.scalar(sa.text("SELECT payload FROM outbox ORDER BY id DESC LIMIT 1"))
    assert last["event_type"] == "user_updated" and last["data"]["role"] == "admin" and last["version"] == 2


@pytest.mark.parametrize(
    "body", [{}, {"role": "root"}, {"email": "x@example.com"}, {"is_active": "no"}, {"name": " "}, {"id": 3}]
)
def test_invalid_admin_updates_are_422(client: FlaskClient, make_user: Any, body: dict[str, Any]) -> None:
    _, admin = make_user("boss@example.com", "admin")
    user_id, _ = make_user("carl@example.com")
    assert client.patch(f"/admin/users/{user_id}", json=body, headers=admin).status_code == 422


def test_the_last_admin_cannot_be_demoted_deactivated_or_deleted(client: FlaskClient, make_user: Any) -> None:
    boss_id, boss = make_user("boss@example.com", "admin")
    for method, body in (("patch", {"role": "employee"}), ("patch", {"is_active": False}), ("delete", None)):
        response = getattr(client, method)(f"/admin/users/{boss_id}", json=body, headers=boss)
        assert response.status_code == 409
        assert response.get_json()["type"].endswith("/last-admin")
    second_id, _ = make_user("deputy@example.com", "admin")
    assert client.patch(f"/admin/users/{boss_id}", json={"role": "employee"}, headers=boss).status_code == 200
    # boss is no longer an admin: the stored role counts, not the unexpired token's claim
    assert client.delete(f"/admin/users/{second_id}", headers=boss).status_code == 403


def test_delete_emits_user_deleted_with_the_last_state(client: FlaskClient, make_user: Any, engine: sa.Engine) -> None:
    _, admin = make_user("boss@example.com", "admin")
    user_id, _ = make_user("gone@example.com")
    assert client.delete(f"/admin/users/{user_id}", headers=admin).status_code == 204
    assert client.get(f"/admin/users/{user_id}", headers=admin).status_code == 404
    assert client.delete(f"/admin/users/{user_id}", headers=admin).status_code == 404
    with engine.connect() as connection:
        last = connection.scalar(sa.text("SELECT payload FROM outbox ORDER BY id DESC LIMIT 1"))
    assert last["event_type"] == "user_deleted" and last["aggregate_id"] == user_id
    assert last["data"]["email"] == "gone@example.com" and last["version"] == 2


ROUTES = [
    ("get", "/users/profile", None),
    ("put", "/users/profile", {"name": "New"}),
    ("patch", "/users/profile", {"name": "New"}),
    ("get", "/admin/users", None),
    ("get", "/admin/users/{other}", None),
    ("put", "/admin/users/{other}", {"name": "X"}),
    ("patch", "/admin/users/{other}", {"name": "X"}),
    ("delete", "/admin/users/{other}", None),
]
EXPECTED = {  # status by caller: anonymous, employee, admin
    "/users/profile": (401, 200, 200),
    "/admin/users": (401, 403, 200),
    "/admin/users/{other}": (401, 403, None),  # admin: 200, or 204 for delete
}


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_authorization_matrix(client: FlaskClient, make_user: Any, method: str, path: str, body: Any) -> None:
    _, admin = make_user("boss@example.com", "admin")
    _, employee = make_user("emp@example.com")
    other_id, _ = make_user("other@example.com")
    url = path.format(other=other_id)
    anonymous_status, employee_status, admin_status = EXPECTED[path]
    call = getattr(client, method)
    assert call(url, json=body).status_code == anonymous_status
    assert call(url, json=body, headers=employee).status_code == employee_status
    expected_admin = admin_status or (204 if method == "delete" else 200)
    assert call(url, json=body, headers=admin).status_code == expected_admin


def test_public_routes_need_no_token(client: FlaskClient) -> None:
    assert client.get("/.well-known/jwks.json").status_code == 200
    assert client.post("/auth/refresh", json={"refresh_token": "nope"}).status_code == 401
    assert client.post("/auth/logout", json={"refresh_token": "nope"}).status_code == 204


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_impossible_user_ids_are_404(client: FlaskClient, make_user: Any, method: str) -> None:
    _, admin = make_user("boss@example.com", "admin")
    for path in ("/admin/users/0", "/admin/users/99999999999999999999"):
        assert getattr(client, method)(path, json={"name": "x"}, headers=admin).status_code == 404


def test_nul_in_name_is_422(client: FlaskClient, make_user: Any) -> None:
    _, headers = make_user("nul@example.com")
    assert client.put("/users/profile", json={"name": "a\x00b"}, headers=headers).status_code == 422
