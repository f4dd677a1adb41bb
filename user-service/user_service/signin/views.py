"""Sign-in with the provider, and the token endpoints."""

from __future__ import annotations

import logging
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from flask import Response, current_app
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from joserfc.errors import JoseError as JoseRfcError

from servicekit.db import current_session
from servicekit.problems import Problem
from servicekit.schemas import ProblemSchema
from user_service.signin import oauth
from user_service.signin.service import sign_in
from user_service.tokens import service as tokens
from user_service.tokens.models import RefreshRequest, TokenPair

log = logging.getLogger(__name__)
blp = Blueprint("auth", __name__, url_prefix="/auth", description="Sign-in and tokens")


@blp.after_request
def _never_cached(response: Response) -> Response:
    """Token responses (and every other answer under /auth) must not be kept by browsers or proxies."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _settings() -> Any:
    return current_app.extensions["user_settings"]


def _issuer() -> tokens.TokenIssuer:
    return current_app.extensions["token_issuer"]  # type: ignore[no-any-return]


def _provider() -> Any:
    if not _settings().oidc.enabled:
        raise Problem(503, "Sign-in is not configured on this server (GOOGLE_CLIENT_ID is not set).")
    return oauth.client(current_app.extensions["authlib.integrations.flask_client"])


@blp.get("/google/login")
@blp.doc(security=[], responses={"302": {"description": "To the provider's sign-in page."}})
def login() -> ResponseReturnValue:
    """Start signing in: a redirect to the provider (authorization code with state, nonce and PKCE)."""
    try:
        return _provider().authorize_redirect(_settings().oidc.redirect_uri)  # type: ignore[no-any-return]
    except (requests.RequestException, OAuthError) as error:
        log.error("identity provider unavailable", extra={"error": str(error)})
        raise Problem(503, "The identity provider cannot be reached; retry shortly.") from None


CALLBACK_PARAMETERS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": description}
    for name, description in (
        ("code", "The authorization code from the provider."),
        ("state", "The state this service sent with the sign-in request."),
        ("error", "The provider's error, when sign-in was refused there."),
    )
]


@blp.get("/google/callback")
@blp.doc(security=[], parameters=CALLBACK_PARAMETERS)
@blp.response(200, TokenPair)
@blp.alt_response(400, schema=ProblemSchema, description="Bad or missing state, a used code, or a wrong nonce.")
@blp.alt_response(403, schema=ProblemSchema, description="E-mail not verified, domain not allowed, or inactive.")
def callback() -> dict[str, Any]:
    """Finish signing in: the provider's code is exchanged and verified, and our tokens are issued."""
    provider = _provider()
    try:
        token = provider.authorize_access_token()
    except MismatchingStateError:
        raise Problem(400, "The sign-in state is missing or does not match; start again.", slug="bad-state") from None
    except (AuthlibBaseError, JoseRfcError) as error:  # the code refused, the ID token or its nonce wrong
        raise Problem(400, f"The provider's answer was refused: {error}.", slug="signin-failed") from None
    except requests.RequestException:
        raise Problem(503, "The identity provider cannot be reached; retry shortly.") from None
    claims = token.get("userinfo")
    if not claims:
        raise Problem(400, "The provider sent no ID token.", slug="signin-failed")
    session = current_session()
    user = sign_in(session, claims, _settings().oidc)
    pair = _issuer().pair(session, user)
    session.commit()
    log.info("signed in", extra={"user_id": str(user.id)})
    return pair


@blp.post("/refresh")
@blp.doc(security=[])
@blp.arguments(RefreshRequest)
@blp.response(200, TokenPair)
@blp.alt_response(401, schema=ProblemSchema, description="Unknown, expired, revoked or reused refresh token.")
def refresh(body: dict[str, str]) -> dict[str, Any]:
    """A new token pair for a refresh token, which is used up (rotation)."""
    session = current_session()
    pair = tokens.refresh(session, _issuer(), body["refresh_token"])
    session.commit()
    return pair


@blp.post("/logout")
@blp.doc(security=[])
@blp.arguments(RefreshRequest)
@blp.response(204)
def logout(body: dict[str, str]) -> None:
    """Revoke a refresh token and every token rotated from the same sign-in."""
    session = current_session()
    tokens.logout(session, body["refresh_token"])
    session.commit()
