"""Test helpers shared by the suites: throwaway databases, signing keys, a JWKS server.

A package of its own (libs/servicekit-testing), installed in the development virtualenv only: the service
images install libs/servicekit, which holds nothing test-only.
"""

from __future__ import annotations

import base64
import functools
import graphlib
import hashlib
import hmac
import json
import os
import socket
import threading
import time
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
from servicekit.settings import sqlalchemy_url

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


def terminate_backend(pid: int, *, timeout_s: float = 30) -> None:
    """End one PostgreSQL session as a server restart or an idle timeout would, and wait until it is gone."""
    admin = sa.create_engine(sqlalchemy_url(postgres_server_url()), poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
            alive = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            deadline = time.monotonic() + timeout_s
            while connection.execute(alive, {"pid": pid}).scalar():
                assert time.monotonic() < deadline, f"backend {pid} did not end"
                time.sleep(0.05)
    finally:
        admin.dispose()


@contextmanager
def one_connection_engine(*setup: str, cleanup: str | None = None) -> Iterator[sa.Engine]:
    """An engine of a single pooled connection to the test server, so a test knows which PostgreSQL session it
    gets back (ended, reused, with statements prepared on it); the `setup` statements run first, `cleanup` last.
    Without setup, nothing connects before the test does."""
    engine = sa.create_engine(sqlalchemy_url(postgres_server_url()), pool_size=1, max_overflow=0)
    try:
        if setup:
            with engine.begin() as connection:
                for statement in setup:
                    connection.execute(sa.text(statement))
        yield engine
        if cleanup is not None:
            with engine.begin() as connection:
                connection.execute(sa.text(cleanup))
    finally:
        engine.dispose()


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


def empty_all(engine: sa.Engine) -> None:
    """Empty every table but Alembic's and restart every sequence, so each test starts from a clean state.

    What `TRUNCATE ... RESTART IDENTITY CASCADE` of all tables does, at a twentieth of its cost on tables of a
    test's size (a TRUNCATE makes new files for each table and index): DELETE, children before parents, and
    the sequences back to their start, in one round trip."""
    with engine.begin() as connection:
        connection.execute(_emptying(engine))


@functools.cache
def _emptying(engine: sa.Engine) -> sa.TextClause:
    """The statements that empty `engine`'s database (its tables, as they are at the first call)."""
    with engine.connect() as connection:
        tables = connection.scalars(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
        ).all()
        references = connection.execute(
            sa.text(
                "SELECT child.relname, parent.relname FROM pg_constraint"
                " JOIN pg_class child ON child.oid = conrelid JOIN pg_class parent ON parent.oid = confrelid"
                " WHERE contype = 'f' AND connamespace = 'public'::regnamespace AND conrelid <> confrelid"
            )
        ).all()
    referrers: dict[str, set[str]] = {table: set() for table in tables}
    for child, parent in references:
        referrers[parent].add(child)  # a parent comes after the tables that refer to it
    order = graphlib.TopologicalSorter(referrers).static_order()
    deletes = [f"{sa.delete(sa.table(table)).compile(dialect=engine.dialect)};" for table in order]
    restart = (
        "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false)"
        " FROM pg_sequences WHERE schemaname = 'public';"
    )
    return sa.text(" ".join([*deletes, restart]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestKeys:
    """A signing key of the tests' own, minting tokens as the user service would."""

    __test__ = False  # not a pytest test class

    def __init__(self, private_pem: str | None = None, kid: str | None = None) -> None:
        """A new key, or an existing one (such as a running stack's) with its published key id."""
        if private_pem is None:
            self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            loaded = serialization.load_pem_private_key(private_pem.encode(), password=None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            self.private_key = loaded
        self.kid = kid or uuid.uuid4().hex

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


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _hs256_with_public_key(keys: TestKeys, payload: dict[str, object]) -> str:
    """The HS/RS confusion attack: the public key used as an HMAC secret."""
    signing_input = f"{_b64({'alg': 'HS256', 'kid': keys.kid, 'typ': 'JWT'})}.{_b64(payload)}"
    signature = hmac.new(keys.public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _signed_with_header(keys: TestKeys, header: object, payload: dict[str, object]) -> str:
    """A correctly RS256-signed token with whatever header is given (odd ones included)."""
    head = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    signing_input = f"{head}.{_b64(payload)}"
    signature = RSAAlgorithm(RSAAlgorithm.SHA256).sign(signing_input.encode(), keys.private_key)
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def odd_headers(keys: TestKeys) -> dict[str, object]:
    """Token headers that are valid base64 JSON but not what we mint."""
    return {
        "kid a number": {"alg": "RS256", "kid": 1, "typ": "JWT"},
        "kid a list": {"alg": "RS256", "kid": [keys.kid], "typ": "JWT"},
        "kid an object": {"alg": "RS256", "kid": {"id": keys.kid}, "typ": "JWT"},
        "kid true": {"alg": "RS256", "kid": True, "typ": "JWT"},
        "kid null": {"alg": "RS256", "kid": None, "typ": "JWT"},
        "crit header": {"alg": "RS256", "kid": keys.kid, "typ": "JWT", "crit": ["exp"]},
        "crit not a list": {"alg": "RS256", "kid": keys.kid, "crit": "b64"},
        "jku header": {"alg": "RS256", "kid": keys.kid, "jku": "http://127.0.0.1:9/jwks.json"},
        "typ a list": {"alg": "RS256", "kid": keys.kid, "typ": ["JWT"]},
        "alg a list": {"alg": ["RS256"], "kid": keys.kid},
        "header a list": [{"alg": "RS256", "kid": keys.kid}],
        "header nested deep": {"alg": "RS256", "kid": keys.kid, "x": json.loads("[" * 900 + "]" * 900)},
    }


def forgeries(keys: TestKeys) -> dict[str, str]:
    """Every kind of bad token the contract says must be refused with 401, made with `keys` where it matters."""
    claims = keys.claims(1, "admin")
    serializable = {**claims, "iat": int(claims["iat"].timestamp()), "exp": int(claims["exp"].timestamp())}
    valid = keys.token(1, "employee")
    head, body, signature = valid.split(".")
    tampered_body = _b64({**serializable, "role": "admin"})
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return {
        "alg none": f"{_b64({'alg': 'none', 'kid': keys.kid})}.{_b64(serializable)}.",
        "HS256 signed with the public key": _hs256_with_public_key(keys, serializable),
        "expired": keys.token(exp=utcnow() - timedelta(seconds=5)),
        "not yet valid": keys.token(nbf=utcnow() + timedelta(minutes=5)),
        "wrong issuer": keys.token(iss="someone-else"),
        "wrong audience": keys.token(aud="another-api"),
        "unknown kid": jwt.encode(claims, keys.private_key, "RS256", headers={"kid": "nope"}),
        "no kid": jwt.encode(claims, keys.private_key, "RS256"),
        "other key": TestKeys().token(),
        "tampered payload": f"{head}.{tampered_body}.{signature}",
        "tampered signature": f"{head}.{body}.{flipped}",
        "no jti": keys.token(jti=None),
        "non-numeric sub": keys.token(sub="alice"),
        "non-ASCII digits in sub": keys.token(sub="\u0661"),
        "full-width digits in sub": keys.token(sub="\uff11"),
        "sub beyond bigint": keys.token(sub=str(2**63)),
        "header deeper than the parser goes": f"{base64.urlsafe_b64encode(b'[' * 5000).rstrip(b'=').decode()}.e30.x",
        "header a huge integer": f"{base64.urlsafe_b64encode(b'1' * 5000).decode()}.e30.x",
        **{
            header_case: _signed_with_header(keys, header, serializable)
            for header_case, header in odd_headers(keys).items()
        },
        "unknown role": keys.token(role="superuser"),
        "garbage": "not-a-token",
    }


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
