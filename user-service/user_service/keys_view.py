"""The public signing keys, for every service that verifies our tokens."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint

blp = Blueprint("keys", __name__, description="Token signing keys")


@blp.get("/.well-known/jwks.json")
@blp.doc(security=[])
def jwks() -> tuple[dict[str, Any], int, dict[str, str]]:
    """The current and previous public keys (JWKS)."""
    return current_app.extensions["signing_keys"].jwks(), 200, {"Cache-Control": "public, max-age=300"}
