"""Browser sign-in through the gateway: return_to, the refresh cookie, and the cookie endpoints' CSRF rule."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
import requests

from devstack.harness import Stack
from tests.test_signin import authorize, base

FETCH = {"X-Requested-With": "fetch", "Content-Type": "application/json"}


def browser_sign_in(stack: Stack, subject: str, return_to: str) -> requests.Response:
    client = requests.Session()
    login = client.get(
        f"{base(stack)}/auth/google/login", params={"return_to": return_to}, allow_redirects=False, timeout=10
    )
    assert login.status_code == 302, login.text
    return client.get(authorize(client, login.headers["Location"], subject), allow_redirects=False, timeout=10)


def refresh_cookie(response: requests.Response) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    (header,) = [h for h in response.raw.headers.getlist("Set-Cookie") if h.startswith("refresh_token=")]
    cookie.load(header)
    return cookie


def test_a_browser_sign_in_sets_the_cookie_and_returns_to_the_app(stack: Stack) -> None:
    response = browser_sign_in(stack, "alice@example.com", "/app/day?date=2030-01-02")
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == "/app/day?date=2030-01-02"
    assert response.headers["Cache-Control"] == "no-store"
    morsel = refresh_cookie(response)["refresh_token"]
    assert morsel["httponly"] and morsel["secure"] and morsel["samesite"] == "Strict" and morsel["path"] == "/auth/"
    cookie = {"Cookie": f"refresh_token={morsel.value}"}
    no_csrf = {**cookie, "Content-Type": "application/json"}
    assert requests.post(f"{stack.gateway}/auth/refresh", headers=no_csrf, timeout=10).status_code == 403
    refreshed = requests.post(f"{stack.gateway}/auth/refresh", headers={**cookie, **FETCH}, timeout=10)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["user"]["email"] == "alice@example.com" and "refresh_token" not in refreshed.json()
    profile = requests.get(
        f"{stack.gateway}/users/profile",
        headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"},
        timeout=10,
    )
    assert profile.status_code == 200
    rotated = {"Cookie": f"refresh_token={refresh_cookie(refreshed)['refresh_token'].value}"}
    assert requests.post(f"{stack.gateway}/auth/logout", headers={**rotated, **FETCH}, timeout=10).status_code == 204
    assert requests.post(f"{stack.gateway}/auth/refresh", headers={**rotated, **FETCH}, timeout=10).status_code == 401


@pytest.mark.parametrize("return_to", ["//evil.example/", "https://evil.example/", "/\\evil.example", "/%2f%2fevil"])
def test_open_redirects_are_refused_before_the_provider(stack: Stack, return_to: str) -> None:
    response = requests.get(
        f"{base(stack)}/auth/google/login", params={"return_to": return_to}, allow_redirects=False, timeout=10
    )
    assert response.status_code == 400 and response.headers["Content-Type"] == "application/problem+json"


def test_without_return_to_the_callback_answers_json_as_before(stack: Stack) -> None:
    client = requests.Session()
    login = client.get(f"{base(stack)}/auth/google/login", allow_redirects=False, timeout=10)
    response = client.get(authorize(client, login.headers["Location"], "bob@example.com"), timeout=10)
    assert response.status_code == 200 and response.json()["refresh_token"]
    assert "refresh_token=" not in response.headers.get("Set-Cookie", "")
