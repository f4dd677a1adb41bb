"""Sign-in with the provider, and the token endpoints."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from flask import Response, current_app, jsonify, redirect, request
from flask import session as signin_cookie
from flask.typing import ResponseReturnValue
from joserfc.errors import JoseError as JoseRfcError

from servicekit.db import current_session
from servicekit.openapi import ProblemBlueprint
from servicekit.problems import Problem, unauthorized, validation_problem
from user_service.signin import browser, oauth
from user_service.signin.service import sign_in
from user_service.tokens import service as tokens
from user_service.tokens.models import RefreshRequest, TokenPair

log = logging.getLogger(__name__)
blp = ProblemBlueprint("auth", __name__, url_prefix="/auth", description="Sign-in and tokens")


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


RETURN_TO = {
    "name": "return_to",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "A browser sign-in: the path on this site to go back to; the callback then sets the "
    "refresh token as an HttpOnly cookie and redirects there. Anything but one same-origin path is 400.",
}


@blp.get("/google/login")
@blp.doc(security=[], parameters=[RETURN_TO], responses={"302": {"description": "To the provider's sign-in page."}})
@blp.problems((400, "return_to is not a path on this site."))
def login() -> ResponseReturnValue:
    """Start signing in: a redirect to the provider (authorization code with state, nonce and PKCE)."""
    return_to = browser.return_to_path(request.args.getlist("return_to"))
    try:
        response = _provider().authorize_redirect(_settings().oidc.redirect_uri)
    except (requests.RequestException, OAuthError) as error:
        log.error("identity provider unavailable", extra={"error": str(error)})
        raise Problem(503, "The identity provider cannot be reached; retry shortly.") from None
    if return_to is not None:
        state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
        signin_cookie["return_to"] = browser.remember(signin_cookie.get("return_to", {}), state, return_to)
    return response  # type: ignore[no-any-return]


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
@blp.problems(
    (400, "Bad or missing state, a used code, or a wrong nonce."),
    (403, "E-mail not verified, domain not allowed, or inactive."),
)
def callback() -> ResponseReturnValue:
    """Finish signing in: the provider's code is exchanged and verified, and our tokens are issued
    (a browser sign-in: the refresh token as a cookie and a redirect to its return_to)."""
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
    user = sign_in(session=session, claims=claims, oidc=_settings().oidc)
    pair = _issuer().pair(session, user)
    session.commit()
    log.info("signed in", extra={"user_id": str(user.id)})
    pending: dict[str, str] = signin_cookie.get("return_to", {})
    return_to = pending.pop(str(request.args.get("state")), None)
    if return_to is None:
        return pair
    signin_cookie["return_to"] = pending
    response = redirect(return_to, 302)
    browser.set_cookie(response, pair["refresh_token"], _settings().refresh_token_ttl_s)
    return response


def _refresh_token_of(body: dict[str, str], *, cookie_required: bool = True) -> tuple[str, bool]:
    """The token and whether it came from the cookie: a JSON body names it, a request without one uses
    the cookie of a browser sign-in."""
    if request.get_data(cache=True):
        if "refresh_token" not in body:
            raise validation_problem([{"field": "refresh_token", "message": "Missing data for required field."}])
        return body["refresh_token"], False
    return browser.cookie_token(request, required=cookie_required), True


@blp.post("/refresh")
@blp.doc(security=[])
@blp.arguments(RefreshRequest, required=False)
@blp.response(200, TokenPair)
@blp.problems(
    (401, "Unknown, expired, revoked or reused refresh token."),
    (403, "The cookie was used without X-Requested-With: fetch."),
)
def refresh(body: dict[str, str]) -> ResponseReturnValue:
    """A new token pair for a refresh token, which is used up (rotation). Without a body, the token is the
    `refresh_token` cookie (needs `X-Requested-With: fetch`): the rotated one is set as the cookie and the
    body carries the access token only."""
    token, from_cookie = _refresh_token_of(body)
    session = current_session()
    try:
        pair = tokens.refresh(session=session, issuer=_issuer(), token=token)
    except tokens.TokenReused:
        session.commit()  # the family's revocation stands although the request fails
        raise unauthorized("The refresh token is not valid.", token_given=True) from None
    session.commit()
    if not from_cookie:
        return pair
    refresh_token = pair.pop("refresh_token")
    response = jsonify(TokenPair().dump(pair))
    browser.set_cookie(response, refresh_token, _settings().refresh_token_ttl_s)
    return response


@blp.post("/logout")
@blp.doc(security=[])
@blp.arguments(RefreshRequest, required=False)
@blp.response(204)
@blp.problems((403, "The cookie was used without X-Requested-With: fetch."))
def logout(body: dict[str, str]) -> ResponseReturnValue:
    """Revoke a refresh token and every token rotated from the same sign-in (without a body: the cookie's,
    which is then cleared)."""
    token, from_cookie = _refresh_token_of(body, cookie_required=False)
    if token:
        session = current_session()
        tokens.logout(session=session, token=token)
        session.commit()
    response = Response(status=204)
    if from_cookie:
        browser.clear_cookie(response)
    return response
