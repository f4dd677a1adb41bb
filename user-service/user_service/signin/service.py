"""Who a verified identity from the provider is here: found by subject, linked by e-mail, or created."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicekit.problems import Problem
from user_service.config import OidcSettings
from user_service.users import service as users
from user_service.users.models import User


def verified_email(claims: Mapping[str, Any], oidc: OidcSettings) -> str:
    email = claims.get("email")
    verified = claims.get("email_verified")
    if not isinstance(email, str) or "@" not in email or verified not in (True, "true"):
        raise Problem(403, "Sign-in needs an e-mail address the provider has verified.", slug="email-not-verified")
    domain = email.rsplit("@", 1)[1].lower()
    if oidc.allowed_email_domains and domain not in oidc.allowed_email_domains:
        raise Problem(403, f"Addresses at {domain} may not sign in here.", slug="domain-not-allowed")
    return email


def sign_in(*, session: Session, claims: Mapping[str, Any], oidc: OidcSettings) -> User:
    """Find or create the user; later sign-ins refresh the e-mail, never the name the user may have edited."""
    email = verified_email(claims, oidc)
    name = str(claims.get("name") or email.split("@")[0]).strip()[:200]
    user = _find_or_link(session, str(claims["sub"]), email, name)
    if user is None:
        role = "admin" if email.lower() in oidc.admin_emails else "employee"
        return users.create_user(session=session, email=email, name=name, role=role, subject=str(claims["sub"]))
    if not user.is_active:
        raise Problem(403, "This account has been deactivated.", slug="account-inactive")
    _refresh(session, user, email, oidc)
    return user


def _find_or_link(session: Session, subject: str, email: str, name: str) -> User | None:
    """By the provider's subject; else a user created by the CLI with this e-mail, linked now: this is its
    first sign-in, so it takes the provider's name, as a new user would."""
    linked: User | None = session.scalar(sa.select(User).where(User.oidc_subject == subject).with_for_update())
    if linked is not None:
        return linked
    user = users.find_by_email(session=session, email=email)
    if user is None:
        return None
    if user.oidc_subject is not None:
        raise Problem(403, "This e-mail address belongs to another account.", slug="email-taken")
    user.oidc_subject = subject
    user.name = name
    users.changed(session, user)
    return user


def _refresh(session: Session, user: User, email: str, oidc: OidcSettings) -> None:
    updates: dict[str, Any] = {}
    if user.email != email:
        if (other := users.find_by_email(session=session, email=email)) is not None and other.id != user.id:
            raise Problem(403, "This e-mail address belongs to another account.", slug="email-taken")
        updates["email"] = email
    if email.lower() in oidc.admin_emails and user.role != "admin":
        updates["role"] = "admin"
    if updates:
        for key, value in updates.items():
            setattr(user, key, value)
        users.changed(session, user)
