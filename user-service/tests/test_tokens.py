"""The operator CLI mints tokens; the JWKS publishes the keys that verify them."""

from __future__ import annotations

import jwt
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from servicekit_testing import AUDIENCE, ISSUER, TestKeys


def mint(app: Flask, email: str, role: str) -> str:
    result = app.test_cli_runner().invoke(args=["users", "token", email, "--role", role])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_token_cli_creates_the_user_and_mints_a_verifiable_token(
    app: Flask, client: FlaskClient, engine: sa.Engine
) -> None:
    token = mint(app, "Ada@Example.com", "admin")
    jwks = client.get("/.well-known/jwks.json").get_json()
    header = jwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)
    assert claims["role"] == "admin" and claims["email"] == "Ada@Example.com" and claims["sub"].isdigit()
    assert 899 <= claims["exp"] - claims["iat"] <= 900 and claims["jti"]
    with engine.connect() as connection:
        events = connection.execute(sa.text("SELECT event_type, payload FROM outbox")).all()
    assert [e[0] for e in events] == ["user_created"]
    assert events[0][1]["data"]["role"] == "admin"


def test_token_cli_sets_the_stored_role_once(app: Flask, engine: sa.Engine) -> None:
    mint(app, "bob@example.com", "employee")
    mint(app, "BOB@example.com", "admin")
    mint(app, "bob@example.com", "admin")
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM users")) == 1
        assert connection.scalar(sa.text("SELECT role FROM users")) == "admin"
        assert connection.scalars(sa.text("SELECT event_type FROM outbox ORDER BY id")).all() == [
            "user_created",
            "user_updated",
        ]


def test_jwks_publishes_current_and_previous_keys(client: FlaskClient, keys: TestKeys, previous_keys: TestKeys) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    published = response.get_json()["keys"]
    assert len(published) == 2
    assert all(k["kty"] == "RSA" and k["alg"] == "RS256" and "d" not in k for k in published)
    expected = {jwt.PyJWK(k).key.public_numbers().n for k in keys.jwks()["keys"] + previous_keys.jwks()["keys"]}
    assert {jwt.PyJWK(k).key.public_numbers().n for k in published} == expected


def test_profile_of_the_token_holder(app: Flask, client: FlaskClient) -> None:
    token = mint(app, "carol@example.com", "employee")
    headers = {"Authorization": f"Bearer {token}"}
    profile = client.get("/users/profile", headers=headers).get_json()
    assert profile["email"] == "carol@example.com" and profile["role"] == "employee"
    updated = client.put("/users/profile", json={"name": "Carol C."}, headers=headers)
    assert updated.status_code == 200 and updated.get_json()["name"] == "Carol C."
    refused = client.put("/users/profile", json={"name": "X", "role": "admin"}, headers=headers)
    assert refused.status_code == 422
    assert client.get("/users/profile", headers=headers).get_json()["role"] == "employee"


def test_token_from_a_foreign_key_is_401(client: FlaskClient) -> None:
    stranger = TestKeys()
    response = client.get("/users/profile", headers=stranger.headers(user_id=1))
    assert response.status_code == 401
