"""The result of a backup or a restore drill: one JSON log line, and metrics pushed to a Pushgateway.

The line carries the fields every process of the system writes (timestamp, level, service, logger, message),
so the log-based alerts read it like any other. With PUSHGATEWAY_URL set, the run's metrics go to
<url>/metrics/job/<job>/release/<BACKUP_RELEASE> with POST, which replaces only the metrics pushed: a failed
run leaves the last success's timestamp where it was, so "no success for a day" is what the alert sees.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime

from failure import Failure

JOBS = {"backup": "backup", "restore-drill": "restore_drill"}


class PushFailure(Failure):
    """The Pushgateway refused the metrics or could not be reached."""


def log_line(job: str, success: bool, timestamp: str, duration_s: float, detail: str) -> dict[str, object]:
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": "INFO" if success else "ERROR",
        "service": "backup",
        "logger": job,
        "message": f"{job} {'succeeded' if success else 'failed'}",
        "job": job,
        "result": "success" if success else "failure",
        "backup_timestamp": timestamp,
        "duration_s": round(duration_s, 1),
        "detail": detail,
    }


def metrics_text(job: str, success: bool, duration_s: float, now: float) -> str:
    prefix = JOBS[job]
    lines = [
        f"# TYPE {prefix}_last_run_timestamp_seconds gauge",
        f"{prefix}_last_run_timestamp_seconds {now:.3f}",
        f"# TYPE {prefix}_last_run_success gauge",
        f"{prefix}_last_run_success {1 if success else 0}",
        f"# TYPE {prefix}_last_duration_seconds gauge",
        f"{prefix}_last_duration_seconds {duration_s:.3f}",
    ]
    if success:
        lines += [
            f"# TYPE {prefix}_last_success_timestamp_seconds gauge",
            f"{prefix}_last_success_timestamp_seconds {now:.3f}",
        ]
    return "\n".join(lines) + "\n"


def push(url: str, job: str, release: str, body: str) -> None:
    quote = urllib.parse.quote
    target = f"{url.rstrip('/')}/metrics/job/{quote(job, safe='')}/release/{quote(release, safe='')}"
    if not target.startswith(("http://", "https://")):
        raise PushFailure(f"PUSHGATEWAY_URL must be an http(s) URL, not {url!r}")
    request = urllib.request.Request(target, data=body.encode(), method="POST")  # noqa: S310 (checked above)
    request.add_header("Content-Type", "text/plain; version=0.0.4")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()
    except OSError as error:
        raise PushFailure(f"cannot push to {target}: {error}") from error


def report(job: str, success: bool, timestamp: str, started: float, detail: str) -> None:
    """Print the result line on stdout; push the metrics when a Pushgateway is configured."""
    now = time.time()
    print(json.dumps(log_line(job, success, timestamp, now - started, detail)), flush=True)
    url = os.environ.get("PUSHGATEWAY_URL", "")
    if url:
        release = os.environ.get("BACKUP_RELEASE") or "meeting-room-system"
        push(url, job, release, metrics_text(job, success, now - started, now))
        print(f"pushed to {url} (job {job}, release {release})", file=sys.stderr)
