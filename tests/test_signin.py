"""Signing in through the gateway against a real OpenID Connect provider process."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import jwt
import pytest
import requests
import sqlalchemy as sa

from devstack.harness import Stack
from servicekit.settings import sqlalchemy_url


def base(stack: Stack) -> str:
    """The gateway by the name in OAUTH_REDIRECT_URI, so the sign-in cookie comes back with the callback."""
    return f"http://localhost:{stack.config.gateway_port}"


def start(stack: Stack, client: requests.Session) -> str:
    """Follow the login redirect; returns the provider's authorization URL."""
    response = client.get(f"{base(stack)}/auth/google/login", allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def authorize(client: requests.Session, authorization_url: str, subject: str) -> str:
    """Submit the provider's form as a person would; returns our callback URL with code and state."""
    assert client.get(authorization_url, timeout=10).status_code == 200
    response = client.post(authorization_url, data={"sub": subject}, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def sign_in(stack: Stack, subject: str) -> tuple[requests.Session, requests.Response]:
    client = requests.Session()
    callback = authorize(client, start(stack, client), subject)
    return client, client.get(callback, timeout=10)


def test_authorization_request_uses_state_nonce_and_pkce(stack: Stack) -> None:
    query = parse_qs(urlparse(start(stack, requests.Session())).query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert "openid" in query["scope"][0].split() and "email" in query["scope"][0].split()
    assert query["redirect_uri"] == [f"{base(stack)}/auth/google/callback"]


def test_sign_in_issues_tokens_that_every_service_accepts(stack: Stack) -> None:
    _, response = sign_in(stack, "alice@example.com")
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"  # through the gateway, as the browser sees it
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["refresh_token"]
    assert body["user"]["email"] == "alice@example.com" and body["user"]["name"] == "Alice Example"
    assert body["user"]["role"] == "employee"
    jwks = jwt.PyJWKClient(f"{stack.gateway}/.well-known/jwks.json")
    claims = jwt.decode(
        body["access_token"],
        jwks.get_signing_key_from_jwt(body["access_token"]).key,
        algorithms=["RS256"],
        audience="meeting-room-api",
        issuer="meeting-room-system",
    )
    assert claims["sub"] == str(body["user"]["id"]) and claims["role"] == "employee"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert (
        requests.get(f"{stack.gateway}/users/profile", headers=headers, timeout=10).json()["id"] == body["user"]["id"]
    )
    assert requests.get(f"{stack.gateway}/rooms", headers=headers, timeout=10).status_code == 200
    assert requests.get(f"{stack.gateway}/reservations", headers=headers, timeout=10).status_code == 200
    refreshed = requests.post(
        f"{stack.gateway}/auth/refresh", json={"refresh_token": body["refresh_token"]}, timeout=10
    )
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"] != body["refresh_token"]


def test_admin_emails_become_admins_and_cli_users_are_linked_not_duplicated(stack: Stack) -> None:
    cli_token = stack.token("bob@example.com", "employee")  # exists before ever signing in
    cli_id = jwt.decode(cli_token, options={"verify_signature": False})["sub"]
    _, bob = sign_in(stack, "bob@example.com")
    assert str(bob.json()["user"]["id"]) == cli_id
    assert bob.json()["user"]["name"] == "Bob Example"  # the first sign-in brings the provider's name
    _, again = sign_in(stack, "bob@example.com")
    assert again.json()["user"]["id"] == bob.json()["user"]["id"]
    _, admin = sign_in(stack, "admin@example.com")
    assert admin.json()["user"]["role"] == "admin"


def test_missing_or_wrong_state_is_400(stack: Stack) -> None:
    client = requests.Session()
    callback = authorize(client, start(stack, client), "alice@example.com")
    query = parse_qs(urlparse(callback).query)
    code = query["code"][0]
    for params in ({"code": code}, {"code": code, "state": "forged"}):
        response = client.get(f"{base(stack)}/auth/google/callback?{urlencode(params)}", timeout=10)
        assert response.status_code == 400
        assert response.headers["Content-Type"] == "application/problem+json"
    # The right state from a browser without the sign-in cookie is refused too.
    assert requests.get(callback, timeout=10).status_code == 400


def test_replayed_callback_and_replayed_code_are_400(stack: Stack) -> None:
    client = requests.Session()
    callback = authorize(client, start(stack, client), "alice@example.com")
    assert client.get(callback, timeout=10).status_code == 200
    assert client.get(callback, timeout=10).status_code == 400  # the state was used up
    old_code = parse_qs(urlparse(callback).query)["code"][0]
    fresh_state = parse_qs(urlparse(start(stack, client)).query)["state"][0]
    replay = f"{base(stack)}/auth/google/callback?{urlencode({'code': old_code, 'state': fresh_state})}"
    assert client.get(replay, timeout=10).status_code == 400  # the provider refuses a used code


def test_wrong_nonce_is_400(stack: Stack) -> None:
    client = requests.Session()
    callback = authorize(client, start(stack, client), "alice@example.com")
    state = parse_qs(urlparse(callback).query)["state"][0]
    engine = sa.create_engine(sqlalchemy_url(stack.config.database_url("user")))
    with engine.begin() as connection:  # as if the ID token had been minted for another sign-in
        changed = connection.execute(
            sa.text("UPDATE oauth_states SET value = replace(value, :nonce_key, :forged) WHERE key LIKE :key"),
            {"nonce_key": '"nonce": "', "forged": '"nonce": "forged', "key": f"%{state}"},
        ).rowcount
    engine.dispose()
    assert changed == 1
    response = client.get(callback, timeout=10)
    assert response.status_code == 400
    assert "nonce" in response.json()["detail"].lower()


@pytest.mark.parametrize(
    ("subject", "problem"),
    [("unverified@example.com", "email-not-verified"), ("outsider@other.org", "domain-not-allowed")],
)
def test_unverified_email_or_foreign_domain_is_403(stack: Stack, subject: str, problem: str) -> None:
    _, response = sign_in(stack, subject)
    assert response.status_code == 403
    assert response.json()["type"].endswith(f"/{problem}")
