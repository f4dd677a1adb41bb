"""The user table and its API schemas."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.auth import ROLES
from servicekit.db import Timestamped, Versioned, db
from servicekit.pagination import PageQuery
from servicekit.schemas import Integer, PartialUpdate, StrictBoolean, StrictSchema, not_blank


class User(db.Model, Versioned, Timestamped):  # type: ignore[name-defined,misc]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[str] = mapped_column(sa.String(20), default="employee")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    oidc_subject: Mapped[str | None] = mapped_column(sa.String(255), unique=True)

    __table_args__ = (sa.Index("uq_users_email_lower", sa.func.lower(email), unique=True),)

    def event_data(self) -> dict[str, object]:
        return UserRead().dump(self)  # type: ignore[no-any-return]


class UserRead(ma.Schema):
    id = Integer()
    email = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


def _name(**kwargs: object) -> ma.fields.String:
    return ma.fields.String(validate=[ma.validate.Length(min=1, max=200), not_blank], **kwargs)  # type: ignore[arg-type]


class ProfileUpdate(StrictSchema):
    """Only the name is the user's to edit; e-mail and role are not."""

    name = _name(required=True)


class UserUpdate(PartialUpdate):
    """An admin's change: any subset of name, role and the active flag."""

    name = _name()
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))
    is_active = StrictBoolean()


class UserListQuery(PageQuery):
    q = ma.fields.String(validate=ma.validate.Length(max=200), metadata={"description": "Part of name or e-mail."})
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))
