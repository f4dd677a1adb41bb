"""The gateway's routes and the HTTP contract every service keeps, seen from outside."""

from __future__ import annotations

import time

import pytest
import requests

from devstack.harness import SERVICES, Stack

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}


def assert_problem(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["status"] == status
    for header, value in SECURITY_HEADERS.items():
        assert response.headers[header] == value
    assert response.headers["Referrer-Policy"]
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize("path", ["/nowhere", "/roomsx", "/healthz/x", "/readyz", "/metrics", "/rooms/../readyz"])
def test_unrouted_paths_are_404_problem(stack: Stack, path: str) -> None:
    assert_problem(requests.get(f"{stack.gateway}{path}", timeout=10), 404)


def test_service_errors_pass_through_as_problems(stack: Stack, admin: dict[str, str]) -> None:
    assert_problem(requests.delete(f"{stack.gateway}/rooms", headers=admin, timeout=10), 405)
    text = {**admin, "Content-Type": "text/plain"}
    assert_problem(requests.post(f"{stack.gateway}/rooms", data="hello", headers=text, timeout=10), 415)
    malformed = {**admin, "Content-Type": "application/json"}
    assert_problem(requests.post(f"{stack.gateway}/rooms", data="{nope", headers=malformed, timeout=10), 400)
    assert_problem(requests.get(f"{stack.gateway}/rooms/abc", headers=admin, timeout=10), 404)
    assert_problem(requests.get(f"{stack.gateway}/reservations/9000000000", headers=admin, timeout=10), 404)


def test_body_over_one_mebibyte_is_413_problem(stack: Stack, admin: dict[str, str]) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = requests.post(
        f"{stack.gateway}/rooms", data=big, headers={**admin, "Content-Type": "application/json"}, timeout=10
    )
    assert_problem(response, 413)


def test_request_id_is_kept_or_generated(stack: Stack) -> None:
    kept = requests.get(f"{stack.gateway}/rooms", headers={"X-Request-ID": "client-42"}, timeout=10)
    assert kept.headers["X-Request-ID"] == "client-42"
    made = requests.get(f"{stack.gateway}/rooms", timeout=10).headers["X-Request-ID"]
    assert len(made) >= 16


def test_gateway_health_and_security_headers_on_success(stack: Stack) -> None:
    response = requests.get(f"{stack.gateway}/healthz", timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    for header, value in SECURITY_HEADERS.items():
        assert response.headers[header] == value


@pytest.mark.parametrize("service", SERVICES)
def test_openapi_documents_are_routed(stack: Stack, service: str) -> None:
    spec = requests.get(f"{stack.gateway}/openapi/{service}.json", timeout=10).json()
    assert spec["openapi"].startswith("3.")
    assert spec["paths"]


def test_docs_page_shows_all_three_with_local_assets(stack: Stack) -> None:
    page = requests.get(f"{stack.gateway}/docs", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    for service in SERVICES:
        assert f"/openapi/{service}.json" in page.text
    assert "https://" not in page.text  # nothing from a CDN
    asset = requests.get(f"{stack.gateway}/docs/assets/swagger-ui-bundle.js", timeout=10)
    assert asset.status_code == 200 and len(asset.content) > 100_000


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_answers_health_readiness_and_openapi_on_its_own_port(stack: Stack, service: str) -> None:
    base = stack.web(service)
    assert requests.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}
    assert requests.get(f"{base}/readyz", timeout=10).json()["status"] == "ready"
    assert requests.get(f"{base}/openapi.json", timeout=10).json()["info"]["title"]


@pytest.mark.parametrize("name", ["user-relay", "room-relay", "reservation-relay", "reservation-consumer"])
def test_relays_and_consumer_serve_health_and_metrics(stack: Stack, name: str) -> None:
    assert requests.get(f"{stack.health(name)}/healthz", timeout=10).status_code == 200
    assert "# HELP" in requests.get(f"{stack.health(name)}/metrics", timeout=10).text


def test_upstream_down_is_502_problem(stack: Stack, admin: dict[str, str]) -> None:
    stack.stop("room-web")
    try:
        assert_problem(requests.get(f"{stack.gateway}/rooms", headers=admin, timeout=10), 502)
    finally:
        stack.start("room-web")
    assert requests.get(f"{stack.gateway}/rooms", headers=admin, timeout=10).status_code == 200


def test_methods_the_gateway_refuses_are_405_with_allow(stack: Stack, admin: dict[str, str]) -> None:
    traced = requests.request("TRACE", f"{stack.gateway}/rooms", headers=admin, timeout=10)
    assert_problem(traced, 405)
    assert "GET" in traced.headers["Allow"]
    by_service = requests.delete(f"{stack.gateway}/rooms", headers=admin, timeout=10)
    assert by_service.headers["Allow"] == "GET, HEAD, OPTIONS, POST"  # the service's own, not doubled


LIST_ROUTES = {"user": "/users/profile", "room": "/rooms", "reservation": "/reservations"}


@pytest.mark.parametrize("service", SERVICES)
def test_web_metrics_count_requests_by_route_across_workers(stack: Stack, admin: dict[str, str], service: str) -> None:
    route = LIST_ROUTES[service]
    for _ in range(3):
        requests.get(f"{stack.gateway}{route}", headers=admin, timeout=10)
    text = requests.get(f"{stack.web(service)}/metrics", timeout=10).text
    assert "http_request_duration_seconds_bucket{" in text and "db_pool_connections_in_use" in text
    counts = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("http_requests_total{") and f'route="{route}"' in line and 'method="GET"' in line
    ]
    assert sum(counts) >= 3  # summed over gunicorn's workers
    assert requests.get(f"{stack.gateway}/metrics", timeout=10).status_code == 404


def test_hsts_only_behind_tls(stack: Stack) -> None:
    plain = requests.get(f"{stack.gateway}/healthz", timeout=10)
    assert "Strict-Transport-Security" not in plain.headers
    behind_tls = requests.get(f"{stack.gateway}/healthz", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert behind_tls.headers["Strict-Transport-Security"].startswith("max-age=")


def test_docs_through_the_gateway_carry_the_csp(stack: Stack) -> None:
    page = requests.get(f"{stack.gateway}/docs", timeout=10)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert requests.get(f"{stack.gateway}/docs/assets/init.js", timeout=10).status_code == 200


def test_auth_is_rate_limited_per_client(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A second gateway in front of the same services, with the limit of `make run` lowered to 2 per second."""
    import copy
    import subprocess

    from devstack.gateway import render_gateway_config
    from devstack.stack import ROOT
    from servicekit_testing import free_port

    config = copy.deepcopy(stack.config)
    config.dev_dir = tmp_path_factory.mktemp("limited-gateway")
    config.gateway_port = free_port()
    config.extra_env.update(GATEWAY_AUTH_RATE="2r/s", GATEWAY_AUTH_BURST="2")
    conf = render_gateway_config(config)
    gateway = subprocess.Popen(
        [str(ROOT / "scripts" / "gateway.sh"), "run", str(conf), str(conf.parent)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{config.gateway_port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.05)
        else:
            pytest.fail("the gateway did not answer /healthz in 30 s")
        answers = [requests.post(f"{base}/auth/refresh", json={"refresh_token": "x"}, timeout=10) for _ in range(12)]
        limited = [response for response in answers if response.status_code == 429]
        assert limited and {r.status_code for r in answers} <= {401, 429}
        assert_problem(limited[0], 429)
        assert requests.get(f"{base}/rooms", timeout=10).status_code == 401  # other routes are not limited
    finally:
        gateway.terminate()
        gateway.wait(10)
