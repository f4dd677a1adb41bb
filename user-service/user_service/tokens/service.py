"""Issuing, rotating and revoking tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicekit.auth import Principal
from servicekit.db import utcnow
from servicekit.problems import unauthorized
from user_service.config import Settings
from user_service.keys import SigningKeys
from user_service.tokens.models import RefreshToken
from user_service.users.models import User


@dataclass(frozen=True)
class TokenIssuer:
    keys: SigningKeys
    settings: Settings

    def access_token(self, user: User) -> str:
        principal = Principal(user_id=user.id, email=user.email, name=user.name, role=user.role)
        return self.keys.mint_access_token(
            principal,
            issuer=self.settings.service.jwt_issuer,
            audience=self.settings.service.jwt_audience,
            ttl_s=self.settings.access_token_ttl_s,
        )

    def pair(self, session: Session, user: User, family_id: uuid.UUID | None = None) -> dict[str, Any]:
        """A new access token and a new refresh token (in a new family unless one is given), as TokenPair."""
        refresh = secrets.token_urlsafe(32)
        session.add(
            RefreshToken(
                user_id=user.id,
                family_id=family_id or uuid.uuid4(),
                token_hash=hash_token(refresh),
                expires_at=utcnow() + timedelta(seconds=self.settings.refresh_token_ttl_s),
            )
        )
        return {
            "access_token": self.access_token(user),
            "token_type": "Bearer",
            "expires_in": self.settings.access_token_ttl_s,
            "refresh_token": refresh,
            "user": user,
        }


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenReused(Exception):
    """A rotated refresh token came back: its family is revoked in the caller's transaction, which should
    commit that although the request fails (the token may have been stolen)."""


def refresh(*, session: Session, issuer: TokenIssuer, token: str) -> dict[str, Any]:
    """Rotate a refresh token. Reusing a rotated one revokes its whole family (raises TokenReused)."""
    row = session.scalar(sa.select(RefreshToken).where(RefreshToken.token_hash == hash_token(token)).with_for_update())
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise unauthorized("The refresh token is not valid.", token_given=True)
    user = session.get(User, row.user_id)
    if row.rotated_at is not None or user is None or not user.is_active:
        revoke_family(session, row.family_id)
        raise TokenReused()
    row.rotated_at = now
    return issuer.pair(session, user, family_id=row.family_id)


def revoke_family(session: Session, family_id: uuid.UUID) -> None:
    session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def logout(*, session: Session, token: str) -> None:
    """Revoke the token's family; an unknown token is not an error (logging out twice is fine)."""
    family_id = session.scalar(sa.select(RefreshToken.family_id).where(RefreshToken.token_hash == hash_token(token)))
    if family_id is not None:
        revoke_family(session, family_id)


def revoke_user(session: Session, user_id: int) -> None:
    session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
