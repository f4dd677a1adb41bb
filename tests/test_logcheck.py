"""The log check of the system stack finds what it is there to find."""

from __future__ import annotations

import json
from pathlib import Path

from tests.logcheck import problems_in, server_errors_in

GOOD = {"timestamp": "t", "level": "INFO", "service": "room-service", "logger": "x", "message": "m"}


def test_clean_logs_pass(tmp_path: Path) -> None:
    (tmp_path / "room-web.log").write_text(json.dumps(GOOD) + "\n")
    (tmp_path / "gateway.log").write_text("nginx: [warn] plain text\n")
    assert problems_in(tmp_path) == []


def test_plain_text_missing_fields_and_credentials_are_found(tmp_path: Path) -> None:
    leaked = {**GOOD, "message": "Authorization: Bearer abc"}
    partial = {key: value for key, value in GOOD.items() if key != "service"}
    lines = ["Traceback (most recent call last):", json.dumps(leaked), json.dumps(partial)]
    (tmp_path / "user-web.log").write_text("\n".join(lines) + "\n")
    (tmp_path / "gateway.log").write_text('{"path": "/auth/google/callback?code=abc"}\n')
    found = problems_in(tmp_path)
    assert any("not JSON" in p for p in found)
    assert any("Bearer" in p for p in found)
    assert any("missing ['service']" in p for p in found)
    assert any("gateway.log" in p and "code|state" in p for p in found)


def test_server_errors_and_tracebacks_are_found(tmp_path: Path) -> None:
    ok = {**GOOD, "status": 404, "path": "/rooms/9"}
    failed = {**GOOD, "status": 500, "path": "/rooms"}
    traceback = {**GOOD, "level": "ERROR", "message": "unhandled exception", "stack_trace": "Traceback ..."}
    (tmp_path / "room-web.log").write_text("\n".join(json.dumps(r) for r in (ok, failed, traceback)) + "\n")
    (tmp_path / "gateway.log").write_text(json.dumps({"status": 502}) + "\n")  # an upstream stopped on purpose
    found = server_errors_in(tmp_path)
    assert [p.split(":")[1] for p in found] == ["2", "3"]
    (tmp_path / "room-web.log").write_text(json.dumps(ok) + "\n")
    assert server_errors_in(tmp_path) == []
