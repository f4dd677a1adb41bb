"""User administration (admins only)."""

from __future__ import annotations

from typing import Any

from servicekit.db import current_session
from servicekit.openapi import ProblemBlueprint
from servicekit.pagination import page_envelope_schema
from user_service.access import admin_in_database
from user_service.users import service
from user_service.users.models import User, UserListQuery, UserRead, UserUpdate

blp = ProblemBlueprint("admin_users", __name__, url_prefix="/admin/users", description="User administration (admins)")
UserPage = page_envelope_schema(UserRead, "UserPage")


@blp.get("")
@admin_in_database
@blp.arguments(UserListQuery, location="query")
@blp.response(200, UserPage)
@blp.problems((403, "Not an admin."))
def list_users(query: dict[str, Any]) -> dict[str, Any]:
    """Users, by id; `q` searches name and e-mail."""
    return service.list_users(session=current_session(), **query)


@blp.get("/<id:user_id>")
@admin_in_database
@blp.response(200, UserRead)
@blp.problems((403, "Not an admin."), (404, "No such user."))
def get_user(user_id: int) -> User:
    """One user."""
    return service.get_user(session=current_session(), user_id=user_id)


@blp.put("/<id:user_id>")
@blp.patch("/<id:user_id>")
@admin_in_database
@blp.arguments(UserUpdate)
@blp.response(200, UserRead)
@blp.problems((403, "Not an admin."), (404, "No such user."), (409, "It would leave no active admin."))
def update_user(body: dict[str, Any], user_id: int) -> User:
    """Change a user's name, role or active flag (PUT and PATCH both take any subset)."""
    session = current_session()
    user = service.update_user(session=session, user_id=user_id, changes=body)
    session.commit()
    return user


@blp.delete("/<id:user_id>")
@admin_in_database
@blp.response(204)
@blp.problems((403, "Not an admin."), (404, "No such user."), (409, "It would leave no active admin."))
def delete_user(user_id: int) -> None:
    """Delete a user; their reservations that have not ended are cancelled."""
    session = current_session()
    service.delete_user(session=session, user_id=user_id)
    session.commit()
