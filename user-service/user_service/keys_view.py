"""The public signing keys, for every service that verifies our tokens."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app

from servicekit.openapi import ProblemBlueprint

blp = ProblemBlueprint("keys", __name__, description="Token signing keys")


class JWKSet(ma.Schema):
    keys = ma.fields.List(ma.fields.Dict(), metadata={"description": "RSA public keys (RFC 7517)."})


@blp.get("/.well-known/jwks.json")
@blp.doc(security=[])
@blp.response(200, JWKSet)
def jwks() -> tuple[dict[str, Any], dict[str, str]]:
    """The current and previous public keys (JWKS)."""
    return current_app.extensions["signing_keys"].jwks(), {"Cache-Control": "public, max-age=300"}
