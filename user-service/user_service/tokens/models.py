"""Refresh tokens: opaque to clients, stored only as hashes, rotated on every use, grouped in families."""

from __future__ import annotations

import uuid
from datetime import datetime

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import db, utcnow
from servicekit.schemas import Integer, StrictSchema
from user_service.users.models import UserRead


class RefreshToken(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class RefreshRequest(StrictSchema):
    # Required in a body; a request without a body uses the browser sign-in's cookie instead.
    refresh_token = ma.fields.String(validate=ma.validate.Length(min=1, max=200))


class TokenPair(ma.Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_in = Integer(metadata={"description": "Seconds until the access token expires."})
    refresh_token = ma.fields.String()
    user = ma.fields.Nested(UserRead)
