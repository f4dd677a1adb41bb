"""Profile endpoints: thin wrappers over the service functions."""

from __future__ import annotations

from typing import Any

from servicekit.auth import current_principal
from servicekit.db import current_session
from servicekit.openapi import ProblemBlueprint
from user_service.users import service
from user_service.users.models import ProfileUpdate, User, UserRead

blp = ProblemBlueprint("users", __name__, url_prefix="/users", description="The signed-in user's profile")


@blp.get("/profile")
@blp.response(200, UserRead)
def get_profile() -> User:
    """The signed-in user's profile."""
    return service.get_user(session=current_session(), user_id=current_principal().user_id)


@blp.put("/profile")
@blp.patch("/profile")
@blp.arguments(ProfileUpdate)
@blp.response(200, UserRead)
@blp.problems((422, "A blank name, or a field that is not the user's to edit."))
def update_profile(body: dict[str, Any]) -> User:
    """Change the signed-in user's name."""
    session = current_session()
    user = service.get_user(session=session, user_id=current_principal().user_id)
    user = service.update_profile(session=session, user=user, name=body["name"])
    session.commit()
    return user
