"""The OpenID Connect client (Authlib): Google by default, any provider by its discovery URL."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from authlib.integrations.flask_client import OAuth
from flask import Flask

from servicekit.db import db, utcnow
from user_service.config import Settings
from user_service.signin.models import OAuthState

PROVIDER = "google"


class DatabaseStateCache:
    """Authlib's cache interface over PostgreSQL: every web worker and replica sees the same login state,
    and the PKCE verifier and nonce never travel in a cookie."""

    def get(self, key: str) -> str | None:
        with db.engine.begin() as connection:
            row = connection.execute(
                sa.select(OAuthState.value).where(OAuthState.key == key, OAuthState.expires_at > utcnow())
            ).first()
        return row[0] if row else None

    def set(self, key: str, value: str, expires_in: int | None = None) -> None:
        expires_at = utcnow() + timedelta(seconds=expires_in or 3600)
        with db.engine.begin() as connection:
            connection.execute(sa.delete(OAuthState).where(OAuthState.expires_at <= utcnow()))
            connection.execute(sa.insert(OAuthState).values(key=key, value=value, expires_at=expires_at))

    def delete(self, key: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(sa.delete(OAuthState).where(OAuthState.key == key))


def session_secret(signing_key_pem: str) -> bytes:
    """The session cookie's key, derived from the signing key so deployments carry one secret fewer."""
    return hmac.new(signing_key_pem.encode(), b"user-service session cookie", hashlib.sha256).digest()


def init_oauth(app: Flask, settings: Settings) -> OAuth:
    secure_cookie = settings.oidc.redirect_uri.startswith("https://")
    app.config.update(
        SECRET_KEY=session_secret(settings.signing_key_pem),
        SESSION_COOKIE_NAME="signin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # the provider's redirect back is a top-level GET: Lax cookies go along
        SESSION_COOKIE_SECURE=secure_cookie,
    )
    oauth = OAuth(app, cache=DatabaseStateCache())
    oauth.register(
        PROVIDER,
        client_id=settings.oidc.client_id,
        client_secret=settings.oidc.client_secret,
        server_metadata_url=settings.oidc.discovery_url,
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256", "timeout": 10},
    )
    return oauth


def client(oauth: OAuth) -> Any:
    return oauth.create_client(PROVIDER)
