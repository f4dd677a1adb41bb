"""Browser sign-in: return_to refused unless a same-origin path; the refresh cookie's attributes; the cookie
endpoints refuse requests without X-Requested-With (CSRF); the JSON API stays as it was."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from servicekit.db import current_session
from user_service.signin.browser import COOKIE, is_same_origin_path, remember
from user_service.tokens.models import TokenPair
from user_service.users import service as users

FETCH = {"X-Requested-With": "fetch", "Content-Type": "application/json"}

REFUSED = [
    "//evil.example",
    "//evil.example/app/",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2fevil.example",
    "/%2Fevil.example",
    "%2F%2Fevil.example",
    "/%5cevil.example",
    "/%5Cevil.example",
    "/%252f%252fevil.example",
    "/%25252f%25252f%25252f%25252fevil.example",
    "/\tevil",
    "/app/\r\nSet-Cookie: x=1",
    "/ app",
    "app/",
    "",
    "/" + "a" * 2000,
]
ACCEPTED = ["/", "/app/", "/app/day?date=2030-01-02", "/app/my#upcoming", "/app/a%20b", "/app/%2e%2e"]


@pytest.mark.parametrize("value", REFUSED)
def test_return_to_other_than_a_same_origin_path_is_refused(value: str) -> None:
    assert not is_same_origin_path(value)


@pytest.mark.parametrize("value", ACCEPTED)
def test_return_to_paths_on_this_site_are_accepted(value: str) -> None:
    assert is_same_origin_path(value)


def test_pending_sign_ins_are_kept_per_state_and_bounded() -> None:
    pending: dict[str, str] = {}
    for number in range(8):
        pending = remember(pending, f"s{number}", f"/app/{number}")
    assert list(pending) == ["s3", "s4", "s5", "s6", "s7"]
    assert remember(pending, "s5", "/x")["s5"] == "/x"


@pytest.mark.parametrize("value", ["//evil.example", "https://evil.example/", "/\\evil", "/%2F%2Fevil", ""])
def test_login_refuses_a_bad_return_to_with_400(client: FlaskClient, value: str) -> None:
    response = client.get("/auth/google/login", query_string={"return_to": value})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["type"].endswith("/bad-return-to")


def test_login_refuses_two_return_tos(client: FlaskClient) -> None:
    response = client.get("/auth/google/login?return_to=/app/&return_to=/app/x")
    assert response.status_code == 400


@pytest.fixture
def pair(app: Flask) -> Any:
    def issue(email: str = "kim@example.com") -> dict[str, Any]:
        with app.app_context():
            session = current_session()
            user = users.ensure_user(session=session, email=email, role="employee")
            issued = TokenPair().dump(app.extensions["token_issuer"].pair(session, user))
            session.commit()
            return issued  # type: ignore[no-any-return]

    return issue


def cookie_of(response: Any) -> SimpleCookie:
    (header,) = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(f"{COOKIE}=")]
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(header)
    return cookie


def with_cookie(client: FlaskClient, token: str, **headers: str) -> dict[str, str]:
    """Put the token in the client's cookie jar (the test client sends its jar, not a Cookie header)."""
    client.set_cookie(COOKIE, token, path="/auth/")
    return headers


def test_refresh_with_the_cookie_rotates_it_and_returns_only_the_access_token(client: FlaskClient, pair: Any) -> None:
    first = pair()
    response = client.post("/auth/refresh", headers=with_cookie(client, first["refresh_token"], **FETCH))
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["access_token"] and body["expires_in"] == 900 and body["user"]["email"] == "kim@example.com"
    assert "refresh_token" not in body  # only the HttpOnly cookie holds it
    morsel = cookie_of(response)[COOKIE]
    assert morsel.value and morsel.value != first["refresh_token"]
    assert morsel["httponly"] and morsel["secure"] and morsel["samesite"] == "Strict"
    assert morsel["path"] == "/auth/" and int(morsel["max-age"]) == 30 * 24 * 3600
    assert client.post("/auth/refresh", headers=with_cookie(client, morsel.value, **FETCH)).status_code == 200
    # The first one was used up: reusing it revokes the family, as in the JSON API.
    assert client.post("/auth/refresh", headers=with_cookie(client, first["refresh_token"], **FETCH)).status_code == 401


@pytest.mark.parametrize("path", ["/auth/refresh", "/auth/logout"])
@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest"},
        {"Content-Type": "application/json", "X-Requested-With": ""},
    ],
)
def test_cookie_requests_without_the_csrf_header_are_403(
    client: FlaskClient, pair: Any, path: str, headers: dict[str, str]
) -> None:
    token = pair()["refresh_token"]
    response = client.post(path, headers=with_cookie(client, token, **headers))
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    # Nothing was used up or revoked: the same token still refreshes with the header.
    assert client.post("/auth/refresh", headers=with_cookie(client, token, **FETCH)).status_code == 200


def test_refresh_without_body_or_cookie_is_401(client: FlaskClient) -> None:
    response = client.post("/auth/refresh", headers=FETCH)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_logout_without_a_cookie_is_fine_but_still_needs_the_header(client: FlaskClient) -> None:
    assert client.post("/auth/logout", headers=FETCH).status_code == 204
    assert client.post("/auth/logout", headers={"Content-Type": "application/json"}).status_code == 403


def test_logout_with_the_cookie_revokes_the_family_and_clears_it(client: FlaskClient, pair: Any) -> None:
    token = pair()["refresh_token"]
    response = client.post("/auth/logout", headers=with_cookie(client, token, **FETCH))
    assert response.status_code == 204
    morsel = cookie_of(response)[COOKIE]
    assert morsel.value == "" and morsel["path"] == "/auth/"
    assert client.post("/auth/refresh", headers=with_cookie(client, token, **FETCH)).status_code == 401


def test_a_json_body_still_wins_over_the_cookie_and_keeps_the_api_as_it_was(client: FlaskClient, pair: Any) -> None:
    mine, other = pair(), pair("lee@example.com")
    response = client.post(
        "/auth/refresh",
        json={"refresh_token": mine["refresh_token"]},
        headers=with_cookie(client, other["refresh_token"]),
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["refresh_token"] and body["user"]["email"] == "kim@example.com"
    assert not response.headers.getlist("Set-Cookie") or all(
        not value.startswith(f"{COOKIE}=") for value in response.headers.getlist("Set-Cookie")
    )
    assert client.post("/auth/refresh", json={}).status_code == 422
