"""User operations: plain functions over a session; every change stages its event in the same transaction."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicekit.auth import ROLES
from servicekit.db import contains
from servicekit.outbox import EventStream
from servicekit.pagination import paginate
from servicekit.problems import Problem
from user_service.config import SERVICE_NAME
from user_service.tokens.service import revoke_user
from user_service.users.models import User

EVENTS = EventStream(producer=SERVICE_NAME, topic="user_events")


def _publish(session: Session, user: User, event_type: str) -> None:
    EVENTS.publish(session, user, event_type, user.event_data)


def changed(session: Session, user: User) -> None:
    """Record a change to an existing user: a new version and its event."""
    user.version += 1
    _publish(session, user, "user_updated")


def create_user(*, session: Session, email: str, name: str, role: str, subject: str | None = None) -> User:
    user = User(email=email.strip(), name=name, role=role, is_active=True, oidc_subject=subject, version=1)
    session.add(user)
    _publish(session, user, "user_created")
    return user


def find_by_email(*, session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))


def get_user(*, session: Session, user_id: int, lock: bool = False) -> User:
    query = sa.select(User).where(User.id == user_id)
    user: User | None = session.scalar(query.with_for_update() if lock else query)
    if user is None:
        raise Problem(404, f"User {user_id} does not exist.")
    return user


def ensure_user(*, session: Session, email: str, role: str, name: str = "") -> User:
    """Create the user if missing, and give it the role asked for (the operator CLI's path)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    user = find_by_email(session=session, email=email)
    if user is None:
        return create_user(session=session, email=email, name=name or email.split("@")[0], role=role)
    if user.role != role:
        user.role = role
        changed(session, user)
    return user


def update_profile(*, session: Session, user: User, name: str) -> User:
    if user.name != name.strip():
        user.name = name.strip()
        changed(session, user)
    return user


def list_users(
    *, session: Session, page: int, per_page: int, q: str | None = None, role: str | None = None
) -> dict[str, Any]:
    query = sa.select(User)
    if q:
        query = query.where(contains(q, User.name, User.email))
    if role:
        query = query.where(User.role == role)
    return paginate(session, query.order_by(User.id), page=page, per_page=per_page, objects=True)


def _lock_admins(session: Session) -> list[int]:
    """The active admins, locked, so two admins demoting each other at once cannot leave none."""
    return list(
        session.scalars(
            sa.select(User.id).where(User.role == "admin", User.is_active.is_(True)).order_by(User.id).with_for_update()
        )
    )


def _keep_an_admin(session: Session, user: User, *, stays_admin: bool) -> None:
    if stays_admin or user.role != "admin" or not user.is_active:
        return
    if _lock_admins(session) == [user.id]:
        raise Problem(409, "This is the last active admin; make someone else an admin first.", slug="last-admin")


def update_user(*, session: Session, user_id: int, changes: dict[str, Any]) -> User:
    user = get_user(session=session, user_id=user_id, lock=True)
    role, is_active = changes.get("role", user.role), changes.get("is_active", user.is_active)
    _keep_an_admin(session, user, stays_admin=role == "admin" and is_active)
    if "name" in changes:
        changes = {**changes, "name": changes["name"].strip()}
    if all(getattr(user, key) == value for key, value in changes.items()):
        return user
    for key, value in changes.items():
        setattr(user, key, value)
    if not user.is_active:
        revoke_user(session, user.id)
    changed(session, user)
    return user


def delete_user(*, session: Session, user_id: int) -> None:
    """Remove the user; `user_deleted` (with the last state) lets other services cancel what was theirs."""
    user = get_user(session=session, user_id=user_id, lock=True)
    _keep_an_admin(session, user, stays_admin=False)
    user.version += 1
    _publish(session, user, "user_deleted")
    session.delete(user)
