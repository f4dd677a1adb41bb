"""Access-token verification: RS256 JWTs checked against the user service's published keys."""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from flask import Flask, g, request

from servicekit.context import user_id_var
from servicekit.problems import Problem, unauthorized

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
ROLES = ("admin", "employee")
# The only header fields our tokens carry. Anything else (`crit`, `jku`, `x5u`, ...) is refused rather than
# handed to the JWT library, which may not expect odd values in them.
HEADER_FIELDS = frozenset({"alg", "kid", "typ"})
_USER_ID = re.compile(r"[1-9][0-9]{0,18}", re.ASCII)
MAX_USER_ID = 2**63 - 1


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the access token says."""

    user_id: int
    email: str
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class KeySource(Protocol):
    def key_for(self, token: str) -> Any: ...


class JWKSKeySource:
    """Public keys fetched from a JWKS URL, cached, and re-fetched when a token names an unknown key."""

    def __init__(self, url: str) -> None:
        self._client = jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=300, timeout=5)

    def key_for(self, token: str) -> Any:
        try:
            return self._client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as error:
            log.error("cannot fetch signing keys", extra={"error": str(error)})
            raise Problem(503, "Token keys are unavailable; retry shortly.", headers={"Retry-After": "5"}) from None
        except (jwt.PyJWKClientError, jwt.DecodeError):
            raise unauthorized("The access token was not signed by a known key.", token_given=True) from None


class TokenVerifier:
    """Verifies access tokens, and remembers the ones it verified: a client sends the same token with every
    request until it expires, and parsing and checking it again each time is most of a request's auth cost."""

    REMEMBERED = 4096
    # No longer than the JWKS cache keeps a key: a key withdrawn from the JWKS stops working here as soon.
    REMEMBER_S = 300

    def __init__(self, keys: KeySource, *, issuer: str, audience: str) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        now = time.time()
        remembered = self._verified.get(token)
        if remembered is not None and remembered[1] > now:
            return remembered[0]
        principal, expires_at = self._verify(token)
        self._verified[token] = (principal, min(expires_at, now + self.REMEMBER_S))
        if len(self._verified) > self.REMEMBERED:
            self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        check_header(token)
        key = self.keys.key_for(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise unauthorized("The access token has expired.", token_given=True) from None
        except jwt.InvalidTokenError as error:
            raise unauthorized(f"The access token is not valid: {error}.", token_given=True) from None
        except (ValueError, TypeError, RecursionError):
            # Untrusted input the library could not take apart: a bad token, never a server error.
            raise unauthorized("The access token is malformed.", token_given=True) from None
        return _principal(claims), float(claims["exp"])


def check_header(token: str) -> str:
    """The token's header as we mint it (RS256, a string key id, nothing else); its key id."""
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.InvalidTokenError, ValueError, TypeError, RecursionError):
        raise unauthorized("The access token is malformed.", token_given=True) from None
    kid, typ = header.get("kid"), header.get("typ", "JWT")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
        raise unauthorized("The access token is not an RS256 token with a key id.", token_given=True)
    if not HEADER_FIELDS.issuperset(header) or typ != "JWT":
        raise unauthorized("The access token's header has fields this API does not accept.", token_given=True)
    return kid


def jwks_verifier(jwks_url: str, *, issuer: str, audience: str) -> TokenVerifier:
    """The verifier of every service but the issuer: keys from the user service's JWKS."""
    return TokenVerifier(JWKSKeySource(jwks_url), issuer=issuer, audience=audience)


def _principal(claims: dict[str, Any]) -> Principal:
    sub, role = claims.get("sub"), claims.get("role")
    if not isinstance(sub, str) or not _USER_ID.fullmatch(sub) or int(sub) > MAX_USER_ID or role not in ROLES:
        raise unauthorized("The access token's claims are not valid.", token_given=True)
    return Principal(user_id=int(sub), email=str(claims.get("email", "")), name=str(claims.get("name", "")), role=role)


def install_authentication(app: Flask, verifier: TokenVerifier, public_prefixes: Iterable[str] = ()) -> None:
    """Default deny: every routed request needs a valid bearer token unless its path is public."""
    public = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", *public_prefixes)

    @app.before_request
    def _authenticate() -> None:
        if request.routing_exception is not None or request.path.startswith(public):
            return
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("A bearer access token is required.", token_given=False)
        principal = verifier.verify(token.strip())
        g.principal = principal
        user_id_var.set(str(principal.user_id))


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:  # a view reached without authentication is a wiring bug, not a client error
        raise RuntimeError("no authenticated principal for this request")
    return principal  # type: ignore[no-any-return]


def require_admin() -> Principal:
    principal = current_principal()
    if not principal.is_admin:
        raise Problem(403, "This action needs the admin role.")
    return principal


def admin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator form of require_admin for views."""
    from functools import wraps

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_admin()
        return view(*args, **kwargs)

    return wrapper
