"""Token verification refuses every forgery the contract lists."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from servicekit.auth import JWKSKeySource, Principal, TokenVerifier
from servicekit.problems import Problem
from servicekit_testing import AUDIENCE, ISSUER, TestKeys, forgeries, jwks_server


@pytest.fixture(scope="module")
def keys() -> TestKeys:
    return TestKeys()


@pytest.fixture(scope="module")
def verifier(keys: TestKeys) -> Iterator[TokenVerifier]:
    with jwks_server(keys.jwks()) as url:
        yield TokenVerifier(JWKSKeySource(url), issuer=ISSUER, audience=AUDIENCE)


def test_valid_token_gives_the_principal(keys: TestKeys, verifier: TokenVerifier) -> None:
    assert verifier.verify(keys.token(7, "admin")) == Principal(7, "user7@example.com", "User 7", "admin")


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
