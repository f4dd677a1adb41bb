"""Token verification refuses every forgery the contract lists."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta

import jwt
import pytest

from servicekit.auth import JWKSKeySource, Principal, TokenVerifier
from servicekit.db import utcnow
from servicekit.problems import Problem
from servicekit.testing import AUDIENCE, ISSUER, TestKeys, jwks_server


@pytest.fixture(scope="module")
def keys() -> TestKeys:
    return TestKeys()


@pytest.fixture(scope="module")
def verifier(keys: TestKeys) -> Iterator[TokenVerifier]:
    with jwks_server(keys.jwks()) as url:
        yield TokenVerifier(JWKSKeySource(url), issuer=ISSUER, audience=AUDIENCE)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_valid_token_gives_the_principal(keys: TestKeys, verifier: TokenVerifier) -> None:
    assert verifier.verify(keys.token(7, "admin")) == Principal(7, "user7@example.com", "User 7", "admin")


def _hs256_with_public_key(keys: TestKeys, payload: dict[str, object]) -> str:
    """The HS/RS confusion attack: the public key used as an HMAC secret."""
    signing_input = f"{_b64({'alg': 'HS256', 'kid': keys.kid, 'typ': 'JWT'})}.{_b64(payload)}"
    signature = hmac.new(keys.public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def forgeries(keys: TestKeys) -> dict[str, str]:
    claims = keys.claims(1, "admin")
    serializable = {**claims, "iat": int(claims["iat"].timestamp()), "exp": int(claims["exp"].timestamp())}
    valid = keys.token(1, "employee")
    head, _, signature = valid.split(".")
    tampered_body = _b64({**serializable, "role": "admin"})
    return {
        "alg none": f"{_b64({'alg': 'none', 'kid': keys.kid})}.{_b64(serializable)}.",
        "HS256 signed with the public key": _hs256_with_public_key(keys, serializable),
        "expired": keys.token(exp=utcnow() - timedelta(seconds=5)),
        "not yet valid": keys.token(nbf=utcnow() + timedelta(minutes=5)),
        "wrong issuer": keys.token(iss="someone-else"),
        "wrong audience": keys.token(aud="another-api"),
        "unknown kid": jwt.encode(claims, keys.private_key, "RS256", headers={"kid": "nope"}),
        "no kid": jwt.encode(claims, keys.private_key, "RS256"),
        "other key": TestKeys().token(),
        "tampered payload": f"{head}.{tampered_body}.{signature}",
        "no jti": keys.token(jti=None),
        "non-numeric sub": keys.token(sub="alice"),
        "unknown role": keys.token(role="superuser"),
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize("case", list(forgeries(TestKeys()).keys()))
def test_forged_or_invalid_tokens_are_401(keys: TestKeys, verifier: TokenVerifier, case: str) -> None:
    with pytest.raises(Problem) as raised:
        verifier.verify(forgeries(keys)[case])
    assert raised.value.status == 401
    assert raised.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_unreachable_key_server_is_503_not_401(keys: TestKeys) -> None:
    verifier = TokenVerifier(JWKSKeySource("http://127.0.0.1:9/jwks.json"), issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(Problem) as raised:
        verifier.verify(keys.token())
    assert raised.value.status == 503
