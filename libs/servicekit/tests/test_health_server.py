"""The relay's and the consumer's health server binds where the web process does."""

from __future__ import annotations

import socket

import pytest
import requests

from servicekit.health_server import Heartbeat, serve_health
from servicekit_testing import free_port


def test_it_binds_to_host_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "127.0.0.1")
    server = serve_health(free_port(), Heartbeat())
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["status"] == "ok"
        other = next((a for a in socket.gethostbyname_ex(socket.gethostname())[2] if not a.startswith("127.")), None)
        if other is not None:  # an address of this machine that is not loopback: nothing listens there
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((other, port), timeout=2).close()
    finally:
        server.shutdown()
        server.server_close()


def test_without_host_it_serves_every_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOST", raising=False)
    server = serve_health(free_port(), Heartbeat())
    try:
        assert server.server_address[0] == "0.0.0.0"
    finally:
        server.shutdown()
        server.server_close()
