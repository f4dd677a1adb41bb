"""The token signing key, its published public half, and keys kept from before a rotation."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from joserfc.jwk import RSAKey

from servicekit.auth import ALGORITHM, Principal, check_header
from servicekit.db import utcnow
from servicekit.problems import unauthorized
from servicekit.settings import ConfigError

_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


def key_id(public_key: RSAPublicKey) -> str:
    """RFC 7638 thumbprint: stable for a key, different for every other key."""
    return RSAKey.import_key(public_key).thumbprint()


def public_jwk(public_key: RSAPublicKey) -> dict[str, Any]:
    """The key as published in the JWKS (RFC 7517: `use`, not also `key_ops`)."""
    jwk = RSAKey.import_key(public_key)
    return {**jwk.as_dict(private=False), "kid": jwk.thumbprint(), "use": "sig", "alg": ALGORITHM}


@dataclass(frozen=True)
class SigningKeys:
    private_key: RSAPrivateKey
    kid: str
    public_keys: dict[str, RSAPublicKey]

    @classmethod
    def from_pem(cls, private_pem: str, previous_public_pem: str = "") -> SigningKeys:
        try:
            private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
        except ValueError as error:
            raise ConfigError(f"JWT_SIGNING_KEY is not a PEM private key: {error}") from None
        if not isinstance(private_key, RSAPrivateKey) or private_key.key_size < 2048:
            raise ConfigError("JWT_SIGNING_KEY must be an RSA key of at least 2048 bits")
        public_keys = {key_id(private_key.public_key()): private_key.public_key()}
        for block in _PEM_BLOCK.findall(previous_public_pem):
            previous = serialization.load_pem_public_key(block.encode())
            if not isinstance(previous, RSAPublicKey):
                raise ConfigError("JWT_PREVIOUS_PUBLIC_KEYS may hold RSA public keys only")
            public_keys.setdefault(key_id(previous), previous)
        return cls(private_key=private_key, kid=key_id(private_key.public_key()), public_keys=public_keys)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(key) for key in self.public_keys.values()]}

    def key_for(self, token: str) -> Any:
        """KeySource for verifying our own tokens without a round trip to ourselves."""
        key = self.public_keys.get(check_header(token))
        if key is None:
            raise unauthorized("The access token was not signed by a known key.", token_given=True)
        return key

    def mint_access_token(self, principal: Principal, *, issuer: str, audience: str, ttl_s: int) -> str:
        now = utcnow()
        claims = {
            "sub": str(principal.user_id),
            "email": principal.email,
            "name": principal.name,
            "role": principal.role,
            "iss": issuer,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=ttl_s),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})
