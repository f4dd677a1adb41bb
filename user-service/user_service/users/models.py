"""The user table and its API schemas."""

from __future__ import annotations

from datetime import datetime

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import db, utcnow
from servicekit.schemas import StrictSchema

ROLES = ("admin", "employee")


class User(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[str] = mapped_column(sa.String(20), default="employee")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    oidc_subject: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.Index("uq_users_email_lower", sa.func.lower(email), unique=True),)

    def event_data(self) -> dict[str, object]:
        return UserRead().dump(self)  # type: ignore[no-any-return]


class UserRead(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ProfileUpdate(StrictSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
