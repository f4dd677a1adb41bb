"""Who a verified identity is here: created, linked, refreshed, or refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from servicekit.db import current_session
from servicekit.problems import Problem
from user_service.config import OidcSettings
from user_service.signin.service import sign_in
from user_service.users import service as users
from user_service.users.models import User

OIDC = OidcSettings(
    "client",
    "secret",
    "https://issuer.example/.well-known/openid-configuration",
    "https://x/cb",
    allowed_email_domains=frozenset({"example.com"}),
    admin_emails=frozenset({"chief@example.com"}),
)


@pytest.fixture
def run(app: Flask) -> Callable[[dict[str, Any]], User]:
    def run(claims: dict[str, Any]) -> User:
        with app.app_context():
            session = current_session()
            user = sign_in(session=session, claims={"email_verified": True, **claims}, oidc=OIDC)
            session.commit()
            session.refresh(user)
            session.expunge(user)
            return user

    return run


def test_first_sign_in_creates_later_ones_keep_the_edited_name_and_refresh_the_email(
    app: Flask, run: Callable[[dict[str, Any]], User]
) -> None:
    first = run({"sub": "s1", "email": "gina@example.com", "name": "Gina"})
    assert (first.name, first.role, first.oidc_subject) == ("Gina", "employee", "s1")
    with app.app_context():
        session = current_session()
        users.update_profile(session=session, user=users.get_user(session=session, user_id=first.id), name="Gina G.")
        session.commit()
    later = run({"sub": "s1", "email": "gina.new@example.com", "name": "Provider Name"})
    assert (later.id, later.name, later.email) == (first.id, "Gina G.", "gina.new@example.com")


def test_admin_emails_are_granted_admin_at_sign_in(run: Callable[[dict[str, Any]], User]) -> None:
    assert run({"sub": "s2", "email": "Chief@Example.com"}).role == "admin"


@pytest.mark.parametrize(
    ("claims", "slug"),
    [
        ({"sub": "s3", "email": "x@example.com", "email_verified": False}, "email-not-verified"),
        ({"sub": "s3", "email": "x@example.com", "email_verified": None}, "email-not-verified"),
        ({"sub": "s3"}, "email-not-verified"),
        ({"sub": "s3", "email": "x@elsewhere.org"}, "domain-not-allowed"),
    ],
)
def test_refusals_are_403(run: Callable[[dict[str, Any]], User], claims: dict[str, Any], slug: str) -> None:
    with pytest.raises(Problem) as refused:
        run(claims)
    assert refused.value.status == 403 and refused.value.slug == slug


def test_an_email_linked_to_another_subject_is_refused(run: Callable[[dict[str, Any]], User]) -> None:
    run({"sub": "s4", "email": "hal@example.com"})
    with pytest.raises(Problem) as refused:
        run({"sub": "s5", "email": "hal@example.com"})
    assert refused.value.status == 403


def test_a_deactivated_user_cannot_sign_in(app: Flask, run: Callable[[dict[str, Any]], User]) -> None:
    user = run({"sub": "s6", "email": "ivy@example.com"})
    with app.app_context():
        session = current_session()
        users.get_user(session=session, user_id=user.id).is_active = False
        session.commit()
    with pytest.raises(Problem) as refused:
        run({"sub": "s6", "email": "ivy@example.com"})
    assert refused.value.status == 403
