"""Inputs an attacker or a broken client sends, through the gateway: every answer is a 4xx problem+json
that blames the client, never a 5xx, and nothing changes."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devstack.harness import Stack
from tests.test_slice import book_when_known, create_room

# Raw JSON texts, sent byte for byte (requests' json= would refuse or re-encode some of them).
UNREADABLE_BODIES = {
    "nested past the parser's recursion limit": "[" * 100_000 + "]" * 100_000,
    "nested deeper than the API reads": '{"name": ' + "[" * 500 + "]" * 500 + "}",
    "an integer past the digit limit": '{"capacity": ' + "9" * 5000 + "}",
    "NaN": '{"capacity": NaN}',
    "Infinity": '{"capacity": -Infinity}',
    "a float that overflows": '{"capacity": 1e400}',
    "invalid UTF-8": b'{"name": "\xff\xfe"}',
}
SURROGATE_BODY = '{"%s": "a\\ud800b"}'

# Every endpoint that reads a JSON body, with the field it reads (for the surrogate case).
BODY_ENDPOINTS: dict[str, tuple[str, str, str]] = {
    "refresh": ("POST", "/auth/refresh", "refresh_token"),
    "logout": ("POST", "/auth/logout", "refresh_token"),
    "profile": ("PUT", "/users/profile", "name"),
    "admin user": ("PATCH", "/admin/users/{user}", "name"),
    "new room": ("POST", "/rooms", "name"),
    "room": ("PATCH", "/rooms/{room}", "name"),
    "new reservation": ("POST", "/reservations", "purpose"),
    "reservation": ("PUT", "/reservations/{reservation}", "purpose"),
}


@pytest.fixture(scope="module")
def targets(stack: Stack, admin: dict[str, str]) -> dict[str, int]:
    room = create_room(stack, admin, "Robustness Room")
    start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    booked = book_when_known(stack, admin, room["id"], start.isoformat(), (start + timedelta(hours=1)).isoformat())
    assert booked.status_code == 201, booked.text
    user = requests.get(f"{stack.gateway}/users/profile", headers=admin, timeout=10).json()
    return {"room": room["id"], "reservation": booked.json()["id"], "user": user["id"]}


def snapshot(stack: Stack, admin: dict[str, str]) -> list[object]:
    """What the body endpoints could change, read back."""
    return [
        requests.get(f"{stack.gateway}{path}", headers=admin, timeout=10).json()
        for path in ("/users/profile", "/rooms?per_page=200", "/reservations?per_page=200", "/admin/users")
    ]


def send(stack: Stack, method: str, path: str, body: str | bytes, headers: dict[str, str]) -> requests.Response:
    data = body.encode() if isinstance(body, str) else body
    return requests.request(
        method,
        f"{stack.gateway}{path}",
        data=data,
        headers={**headers, "Content-Type": "application/json"},
        timeout=30,
    )


def assert_problem(response: requests.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"] == "application/problem+json", response.text[:300]
    assert response.json()["status"] == status


@pytest.mark.parametrize("case", list(UNREADABLE_BODIES))
def test_bodies_we_cannot_read_are_400_everywhere(
    stack: Stack, admin: dict[str, str], targets: dict[str, int], case: str
) -> None:
    before = snapshot(stack, admin)
    for name, (method, template, _) in BODY_ENDPOINTS.items():
        response = send(stack, method, template.format(**targets), UNREADABLE_BODIES[case], admin)
        assert_problem(response, 400)
        assert name and response.json()["detail"]
    assert snapshot(stack, admin) == before


def test_lone_surrogates_are_422_naming_the_field_everywhere(
    stack: Stack, admin: dict[str, str], targets: dict[str, int]
) -> None:
    before = snapshot(stack, admin)
    for method, template, field in BODY_ENDPOINTS.values():
        response = send(stack, method, template.format(**targets), SURROGATE_BODY % field, admin)
        assert_problem(response, 422)
        assert field in [error["field"] for error in response.json()["errors"]], response.text
    assert snapshot(stack, admin) == before


@pytest.mark.parametrize(
    "path",
    [
        "/rooms/\u0661",  # Arabic-Indic one
        "/rooms/\uff11",  # full-width one
        "/reservations/\u0663\u0661",
        "/admin/users/\u0661",
    ],
)
def test_ids_in_other_scripts_name_nothing(
    stack: Stack, admin: dict[str, str], targets: dict[str, int], path: str
) -> None:
    assert_problem(requests.get(f"{stack.gateway}{path}", headers=admin, timeout=10), 404)


WINDOW = {"start": "2030-01-01T10:00:00+00:00", "end": "2030-01-01T11:00:00+00:00"}


@pytest.mark.parametrize("path", ["/rooms", "/reservations", "/admin/users", "/availability/rooms"])
@pytest.mark.parametrize("parameter", ["page", "per_page"])
def test_paging_in_other_scripts_is_422(stack: Stack, admin: dict[str, str], path: str, parameter: str) -> None:
    query = {**(WINDOW if path == "/availability/rooms" else {}), parameter: "\u0663"}
    response = requests.get(f"{stack.gateway}{path}", params=query, headers=admin, timeout=10)
    assert_problem(response, 422)
    assert [error["field"] for error in response.json()["errors"]] == [parameter]
    control = requests.get(f"{stack.gateway}{path}", params={**query, parameter: "3"}, headers=admin, timeout=10)
    assert control.status_code == 200, control.text


def raw_request(stack: Stack, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (no client library would send these) and read the whole answer."""
    port = int(stack.gateway.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST /rooms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n", 400),
        (
            b"POST /rooms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: br, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
            400,
        ),
        (b"GET /rooms HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
        (b"GET /rooms HTTP/3.0\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
        (b"GET /rooms?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 414),
        (b"GET /rooms HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\nConnection: close\r\n\r\n", 400),
        (b"GET /docs/assets HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n", 404),
    ],
    ids=[
        "unknown transfer-encoding",
        "unknown coding before chunked",
        "HTTP/2.0",
        "HTTP/3.0",
        "long line",
        "long header",
        "directory without slash",
    ],
)
def test_odd_requests_get_a_client_error_as_problem_json(stack: Stack, request_bytes: bytes, status: int) -> None:
    got, headers, body = raw_request(stack, request_bytes)
    assert got == status, body[:300]
    assert headers["content-type"] == "application/problem+json", body[:300]
    assert b"attacker.example" not in body and "attacker.example" not in headers.get("location", "")


@pytest.mark.parametrize("length", [4200, 8000])
def test_long_request_lines_the_gateway_takes_reach_the_service_and_get_json(
    stack: Stack, admin: dict[str, str], length: int
) -> None:
    """Between gunicorn's default line limit (4094) and the gateway's (8 KiB): the service answers, not
    with its HTML 414."""
    query = "q=" + "a" * (length - len("GET /rooms? HTTP/1.1"))
    response = requests.get(f"{stack.gateway}/rooms?{query}", headers=admin, timeout=10)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"] == "application/json"


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_a_deactivated_user_cannot_book_once_the_event_arrives(stack: Stack, admin: dict[str, str]) -> None:
    token = stack.token("deactivated-soon@example.com", "employee")
    headers = {"Authorization": f"Bearer {token}"}
    user_id = requests.get(f"{stack.gateway}/users/profile", headers=headers, timeout=10).json()["id"]
    assert requests.get(f"{stack.gateway}/reservations", headers=headers, timeout=10).status_code == 200
    changed = requests.patch(
        f"{stack.gateway}/admin/users/{user_id}", json={"is_active": False}, headers=admin, timeout=10
    )
    assert changed.status_code == 200, changed.text
    wait_for(
        lambda: requests.get(f"{stack.gateway}/reservations", headers=headers, timeout=10).status_code == 401,
        "the reservation service kept accepting a deactivated user's token",
    )
    refused = requests.post(f"{stack.gateway}/reservations", json={"room_id": 1}, headers=headers, timeout=10)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
