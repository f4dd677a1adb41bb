"""User operations: plain functions over a session; every change stages its event in the same transaction."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicekit.outbox import add_event
from servicekit.problems import Problem
from user_service.config import SERVICE_NAME
from user_service.users.models import ROLES, User

TOPIC = "user_events"


def _emit(session: Session, user: User, event_type: str) -> None:
    session.flush()
    add_event(
        session, producer=SERVICE_NAME, topic=TOPIC, event_type=event_type, aggregate=user, data=user.event_data()
    )


def find_by_email(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise Problem(404, f"User {user_id} does not exist.")
    return user


def ensure_user(session: Session, *, email: str, role: str, name: str = "") -> User:
    """Create the user if missing, and give it the role asked for (the operator CLI's path)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    user = find_by_email(session, email)
    if user is None:
        user = User(email=email.strip(), name=name or email.split("@")[0], role=role, is_active=True, version=1)
        session.add(user)
        _emit(session, user, "user_created")
    elif user.role != role:
        user.role = role
        user.version += 1
        _emit(session, user, "user_updated")
    return user


def update_profile(session: Session, user: User, *, name: str) -> User:
    if user.name != name:
        user.name = name
        user.version += 1
        _emit(session, user, "user_updated")
    return user
