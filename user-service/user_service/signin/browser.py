"""Browser sign-in: where to go back to after the provider, and the refresh token kept in a cookie.

A browser sign-in names a same-origin path (`return_to`); its callback puts the refresh token in an
HttpOnly cookie that only /auth/ sees and redirects there. The cookie endpoints then need
`X-Requested-With: fetch`, which a cross-site form cannot send (SameSite=Strict is the first guard).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from flask import Request
from werkzeug.wrappers import Response

from servicekit.problems import Problem, unauthorized

COOKIE = "refresh_token"
COOKIE_PATH = "/auth/"
CSRF_HEADER = "X-Requested-With"
CSRF_VALUE = "fetch"
MAX_RETURN_TO = 2000
MAX_PENDING = 5  # sign-ins started in other tabs and not finished yet

# Printable ASCII without the backslash: no spaces, controls or characters a browser would rewrite.
_PATH_CHARS = re.compile(r"^[\x21-\x5b\x5d-\x7e]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def return_to_path(values: list[str]) -> str | None:
    """The one `return_to` of a login request, if any; a value that is not a same-origin path is 400."""
    if not values:
        return None
    if len(values) > 1 or not is_same_origin_path(values[0]):
        raise Problem(400, "return_to must be one path on this site, such as /app/.", slug="bad-return-to")
    return values[0]


def is_same_origin_path(value: str) -> bool:
    """True for an absolute path on this origin. Refuses what a browser would take for another host:
    `//evil`, `/\\evil`, `https://evil`, and those hidden behind percent-encoding (decoded until stable)."""
    if not 0 < len(value) <= MAX_RETURN_TO or not _PATH_CHARS.match(value):
        return False
    text = value
    for _ in range(4):
        if _CONTROL.search(text) or "\\" in text or not text.startswith("/") or text.startswith("//"):
            return False
        parts = urlsplit(text)
        if parts.scheme or parts.netloc:
            return False
        decoded = unquote(text)
        if decoded == text:
            return True
        text = decoded
    return False  # still encoded after four rounds: nobody means that


def remember(pending: dict[str, str], state: str, return_to: str) -> dict[str, str]:
    """The sign-ins in progress (state → return_to), the oldest dropped beyond MAX_PENDING."""
    kept = {key: value for key, value in pending.items() if key != state}
    kept[state] = return_to
    return dict(list(kept.items())[-MAX_PENDING:])


def set_cookie(response: Response, refresh_token: str, max_age_s: int) -> None:
    response.set_cookie(
        COOKIE,
        refresh_token,
        max_age=max_age_s,
        path=COOKIE_PATH,
        secure=True,  # browsers treat http://localhost as secure, so this holds in `make run` too
        httponly=True,
        samesite="Strict",
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="Strict")


def cookie_token(request: Request, *, required: bool = True) -> str:
    """The refresh token of a body-less request: from the cookie, and only with the CSRF header. Without a
    cookie: 401 where one is required, else an empty string (signing out twice is fine)."""
    if request.headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise Problem(403, f"Requests that use the sign-in cookie need the header {CSRF_HEADER}: {CSRF_VALUE}.")
    token = request.cookies.get(COOKIE, "")
    if len(token) > 200:
        token = ""
    if not token and required:
        raise unauthorized("There is no sign-in cookie; sign in again.", token_given=False)
    return token
