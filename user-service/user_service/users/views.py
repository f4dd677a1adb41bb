"""Profile endpoints: thin wrappers over the service functions."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from servicekit.auth import current_principal
from servicekit.db import current_session
from user_service.users import service
from user_service.users.models import ProfileUpdate, User, UserRead

blp = Blueprint("users", __name__, url_prefix="/users", description="The signed-in user's profile")


def _me() -> User:
    return service.get_user(current_session(), current_principal().user_id)


@blp.get("/profile")
@blp.response(200, UserRead)
def get_profile() -> User:
    """The signed-in user's profile."""
    return _me()


@blp.put("/profile")
@blp.patch("/profile")
@blp.arguments(ProfileUpdate)
@blp.response(200, UserRead)
def update_profile(body: dict[str, Any]) -> User:
    """Change the signed-in user's name."""
    user = service.update_profile(current_session(), _me(), name=body["name"])
    current_session().commit()
    return user
