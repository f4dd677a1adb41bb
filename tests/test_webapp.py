"""The web app as the gateway serves it: its routes, caching and security headers."""

from __future__ import annotations

import re
import subprocess

import pytest
import requests

from devstack.stack import ROOT
from tests.harness import Stack

DIST = ROOT / "web" / "dist"


@pytest.fixture(scope="session")
def webapp() -> None:
    """The built app (`make test` builds it first; this is then a no-op that checks it is current)."""
    subprocess.run([str(ROOT / "scripts" / "web.sh"), "build"], check=True, capture_output=True)


@pytest.mark.parametrize("path", ["/", "/app", "/app/", "/app/day?date=2030-01-02", "/app/admin/rooms", "/app/x/y"])
def test_the_app_and_its_routes_are_index_html(stack: Stack, webapp: None, path: str) -> None:
    response = requests.get(f"{stack.gateway}{path}", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.text == (DIST / "index.html").read_text()
    assert response.headers["Cache-Control"] == "no-cache"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"


def test_hashed_assets_are_cached_for_long_with_their_types(stack: Stack, webapp: None) -> None:
    names = re.findall(r'(?:src|href)="(/assets/[^"]+)"', (DIST / "index.html").read_text())
    assert any(name.endswith(".js") for name in names) and any(name.endswith(".css") for name in names)
    for name in names:
        response = requests.get(f"{stack.gateway}{name}", timeout=10)
        assert response.status_code == 200
        assert response.content == (DIST / name.lstrip("/")).read_bytes()
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        assert response.headers["Content-Type"] == f"{kind}; charset=utf-8"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Content-Security-Policy" not in response.headers


@pytest.mark.parametrize(
    "path", ["/assets/missing.js", "/assets/", "/index.html", "/appx", "/application", "/assets/../index.html"]
)
def test_other_paths_stay_404_problems(stack: Stack, webapp: None, path: str) -> None:
    response = requests.get(f"{stack.gateway}{path}", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "Cache-Control" not in response.headers


def test_api_answers_keep_their_own_cache_headers(stack: Stack, webapp: None) -> None:
    response = requests.get(f"{stack.gateway}/auth/google/login?return_to=//evil", timeout=10)
    assert response.status_code == 400 and response.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" not in response.headers
