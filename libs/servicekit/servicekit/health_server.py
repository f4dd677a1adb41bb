"""A tiny HTTP server for the relay and consumer processes: /healthz and /metrics for probes and scraping."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from servicekit.problems import PROBLEM_JSON


class Heartbeat:
    """The worker loop beats; /healthz fails when it has not beaten for too long, so the liveness probe restarts
    a process whose loop is stuck (the consumer beats at every poll, the relay at every batch or lock attempt)."""

    def __init__(self, max_silence_s: float = 60.0) -> None:
        self.max_silence_s = max_silence_s
        self._last = time.monotonic()
        self.state: dict[str, object] = {}

    def beat(self, **state: object) -> None:
        self._last = time.monotonic()
        self.state.update(state)

    def silence_s(self) -> float:
        return time.monotonic() - self._last

    def healthy(self) -> bool:
        return self.silence_s() < self.max_silence_s


def serve_health(port: int, heartbeat: Heartbeat, host: str | None = None) -> ThreadingHTTPServer:
    """Serve on the address the web process binds to (HOST, all addresses by default, as in a container)."""
    host = host if host is not None else os.environ.get("HOST", "0.0.0.0")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                ok = heartbeat.healthy()
                report = {"status": "ok" if ok else "stalled", "silent_s": round(heartbeat.silence_s(), 1)}
                body = json.dumps({**report, **heartbeat.state}, default=str).encode()
                self._send(200 if ok else 503, "application/json", body)
            elif self.path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest())
            else:
                self._send(404, PROBLEM_JSON, b'{"type":"about:blank","title":"Not Found","status":404}')

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # probes every few seconds: keep logs quiet
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
