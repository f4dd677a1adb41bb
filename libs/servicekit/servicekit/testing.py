"""Test helpers shared by the services' suites: throwaway databases, signing keys, a JWKS server."""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy.engine import make_url

from servicekit.db import utcnow
from servicekit.dbadmin import drop_database, ensure_database
from servicekit.migrations import upgrade

ISSUER = "meeting-room-system"
AUDIENCE = "meeting-room-api"


def postgres_server_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        raise RuntimeError("TEST_POSTGRES_URL is not set: run the tests with `make test`")
    return url


def kafka_servers() -> str:
    servers = os.environ.get("TEST_KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        raise RuntimeError("TEST_KAFKA_BOOTSTRAP_SERVERS is not set: run the tests with `make test`")
    return servers


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@contextmanager
def migrated_database(prefix: str, migrations_dir: Path) -> Iterator[str]:
    """A new database on the test server, at the latest migration, dropped afterwards."""
    url = make_url(postgres_server_url()).set(drivername="postgresql+psycopg2", database=unique_name(f"test_{prefix}"))
    rendered = url.render_as_string(hide_password=False)
    ensure_database(rendered)
    try:
        upgrade(migrations_dir, rendered)
        yield rendered
    finally:
        drop_database(rendered)


def truncate_all(engine: sa.Engine) -> None:
    """Empty every table but Alembic's, so each test starts from a clean state."""
    with engine.begin() as connection:
        tables = connection.scalars(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
        ).all()
        if tables:
            names = ", ".join(f'"{name}"' for name in tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestKeys:
    """A signing key of the tests' own, minting tokens as the user service would."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex

    @property
    def private_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def claims(self, user_id: int, role: str, **overrides: Any) -> dict[str, Any]:
        now = utcnow()
        claims = {
            "sub": str(user_id),
            "email": f"user{user_id}@example.com",
            "name": f"User {user_id}",
            "role": role,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + timedelta(minutes=15),
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, user_id: int = 1, role: str = "employee", **overrides: Any) -> str:
        return jwt.encode(self.claims(user_id, role, **overrides), self.private_key, "RS256", headers={"kid": self.kid})

    def headers(self, user_id: int = 1, role: str = "employee") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, role)}"}


@contextmanager
def jwks_server(jwks: dict[str, Any]) -> Iterator[str]:
    """Serve a JWKS over real HTTP, as the user service would; yields its URL."""
    body = json.dumps(jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
