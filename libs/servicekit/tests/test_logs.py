"""Log lines are JSON objects with our fields; exceptions carry their stack trace as a field."""

from __future__ import annotations

import io
import json
import logging

from servicekit.context import request_id_var, user_id_var
from servicekit.logs import ContextFilter, json_formatter


def capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter("room-service"))
    logger = logging.getLogger(f"test.{id(stream)}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


def test_a_line_carries_service_request_and_user() -> None:
    logger, stream = capture()
    token_r, token_u = request_id_var.set("req-7"), user_id_var.set("42")
    try:
        logger.info("request", extra={"method": "GET", "path": "/rooms", "status": 200, "duration_ms": 1.5})
    finally:
        request_id_var.reset(token_r)
        user_id_var.reset(token_u)
    line = json.loads(stream.getvalue())
    assert {k: line[k] for k in ("level", "service", "logger", "message", "request_id", "user_id", "status")} == {
        "level": "INFO",
        "service": "room-service",
        "logger": line["logger"],
        "message": "request",
        "request_id": "req-7",
        "user_id": "42",
        "status": 200,
    }
    assert line["timestamp"].endswith("+00:00")


def test_an_exception_is_one_line_with_its_stack_trace() -> None:
    logger, stream = capture()
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["level"] == "ERROR" and "ValueError: boom" in record["stack_trace"]
    assert "Traceback" in record["stack_trace"]
