"""Per-request (or per-message) context carried into logs and events."""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar

from flask import g

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def clean_request_id(candidate: str | None) -> str:
    """Keep a caller's request id when it is safe to log and forward, else make one."""
    if candidate and _VALID_REQUEST_ID.match(candidate):
        return candidate
    return uuid.uuid4().hex


def start_request_timer() -> None:
    """One clock per request, read by the request log and the latency metric alike."""
    g.request_started = time.perf_counter()


def request_elapsed_s() -> float | None:
    started = g.get("request_started")
    return None if started is None else time.perf_counter() - started
