"""The user service knows who is active and who is admin right now, not only what a token said."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, g, request

from servicekit.auth import current_principal
from servicekit.db import current_session
from servicekit.problems import Problem, unauthorized
from user_service.users.models import User


def install_account_check(app: Flask) -> None:
    """A token of a deleted or deactivated user stops working here at once (elsewhere at its expiry)."""

    @app.before_request
    def _account_still_active() -> None:
        if g.get("principal") is None or request.routing_exception is not None:
            return
        user = current_session().get(User, current_principal().user_id)
        if user is None or not user.is_active:
            raise unauthorized("This account is no longer active.", token_given=True)
        g.user = user


def admin_in_database(view: Callable[..., Any]) -> Callable[..., Any]:
    """Admin-only, by the role stored now: a demoted admin's unexpired token does not open these routes."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.user.role != "admin":
            raise Problem(403, "This action needs the admin role.")
        return view(*args, **kwargs)

    return wrapper
