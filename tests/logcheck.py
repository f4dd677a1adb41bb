"""What every log line of a run must be: one JSON object with our fields, and free of credentials."""

from __future__ import annotations

import json
import re
from pathlib import Path

SERVICE_FIELDS = {"timestamp", "level", "service", "logger", "message"}
GATEWAY_FIELDS = {"timestamp", "level", "service", "request_id", "method", "path", "status"}
CREDENTIALS = [
    re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}"),  # a JWT
    re.compile(r"Bearer\s+\S", re.IGNORECASE),
    re.compile(r"refresh_token", re.IGNORECASE),
    re.compile(r"[?&](code|state)=", re.IGNORECASE),
    re.compile(r"BEGIN (RSA )?PRIVATE KEY"),
    re.compile(r"/calendar/feeds/[A-Za-z0-9_-]{20,}"),  # a calendar feed's secret
]


def problems_in(log_dir: Path) -> list[str]:
    """Every violation in the logs of a stack's processes (the test provider's own log aside)."""
    found = []
    for path in sorted(log_dir.glob("*.log")):
        if path.name == "oidc.log":
            continue  # a test double, not ours
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            where = f"{path.name}:{number}"
            found.extend(
                f"{where}: credential-like text {pattern.pattern!r}" for pattern in CREDENTIALS if pattern.search(line)
            )
            if path.name == "gateway.log":
                if line.startswith("{"):
                    found.extend(_missing(line, GATEWAY_FIELDS, where))
                continue  # NGINX's own error log is plain text on stderr
            found.extend(_missing(line, SERVICE_FIELDS, where))
    return found


def server_errors_in(log_dir: Path) -> list[str]:
    """Requests our services answered with a 5xx, and tracebacks: with every dependency up (the shared
    stack of the system suite), each one is a bug whatever the input."""
    found = []
    for path in sorted(log_dir.glob("*.log")):
        if path.name in ("oidc.log", "gateway.log"):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            status = record.get("status")
            if (isinstance(status, int) and status >= 500) or "stack_trace" in record or "exc_info" in record:
                found.append(f"{path.name}:{number}: {line[:300]}")
    return found


def _missing(line: str, fields: set[str], where: str) -> list[str]:
    try:
        record = json.loads(line)
    except ValueError:
        return [f"{where}: not JSON: {line[:160]}"]
    if not isinstance(record, dict):
        return [f"{where}: not a JSON object"]
    missing = fields - record.keys()
    return [f"{where}: missing {sorted(missing)}"] if missing else []


def emitted_fields(log_dir: Path) -> dict[str, set[str]]:
    """What the processes of a run really wrote: every JSON field name (key "fields"), and the values of the
    low-cardinality fields that become Loki labels ("service", "level"). Used by tests/test_monitoring.py."""
    seen: dict[str, set[str]] = {"fields": set(), "service": set(), "level": set()}
    for path in sorted(log_dir.glob("*.log")):
        if path.name == "oidc.log":
            continue
        for line in path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                seen["fields"] |= set(record)
                for key in ("service", "level"):
                    if isinstance(record.get(key), str):
                        seen[key].add(record[key])
    return seen
