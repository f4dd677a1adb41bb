"""Where a request's CPU goes inside the app: the real Flask app, in process, on the bench's database.

    python -m bench.profile reservation|same_work|minimal [REQUESTS]   (run by bench.parts.profile)

The app is driven through Flask's test client (no gunicorn, no NGINX, no network to the app) with the
service's own logging and metrics set up as in production, so what is measured is the app's own cost
per request. First an unobserved pass gives CPU and wall time per request; then a second pass is
sampled: a thread looks at the main thread's stack every 0.2 ms and charges the CPU the main
thread used since the last look (its own CPU clock, so waiting on PostgreSQL costs nothing) to that
stack. (A deterministic profiler such as cProfile would multiply the cost of small Python functions
called thousands of times, and mislead.) Writes one JSON object to $BENCH_PROFILE_OUT.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

Call = Callable[[Any, int], int]  # (test client, i) -> status

# What a sample is charged to: the first rule matching its stack, innermost frame first.
CATEGORIES = (
    ("logging (JSON log lines)", ("/logging/", "pythonjsonlogger")),
    ("metrics (prometheus_client)", ("prometheus_client",)),
    ("token verification (PyJWT, RSA)", ("/jwt/", "servicekit/auth.py", "cryptography")),
    ("SQL: SQLAlchemy ORM and psycopg2", ("sqlalchemy", "psycopg2", "flask_sqlalchemy")),
    ("the service's own code", ("reservation_service", "minimal_app.py", "same_work_app.py")),
    ("request/response schemas (marshmallow, webargs, flask-smorest)", ("marshmallow", "webargs", "flask_smorest")),
    ("JSON encoding/decoding", ("/json/",)),
    ("servicekit request hooks", ("servicekit",)),
    ("Flask and Werkzeug", ("/flask/", "/werkzeug/")),
)


def _library(filename: str) -> str:
    for marker in ("site-packages/", "/lib/python3"):
        if marker in filename:
            rest = filename.split(marker, 1)[1].lstrip("/")
            top = rest.split("/")[0].removesuffix(".py")
            return top if marker == "site-packages/" else f"stdlib {rest.split('/')[1].removesuffix('.py')}"
    for ours in ("reservation_service", "servicekit", "bench"):
        if f"/{ours}/" in filename:
            return ours
    return filename


def _category(frames: list[tuple[str, str]]) -> str:
    for filename, _ in frames:
        for name, markers in CATEGORIES:
            if any(marker in filename for marker in markers):
                return name
    return "other"


class Sampler(threading.Thread):
    """Charges the main thread's CPU time to its stack, looked at every `every_s` seconds."""

    def __init__(self, every_s: float = 0.0002) -> None:
        super().__init__(daemon=True)
        self.every_s = every_s
        self.target = threading.main_thread().ident or 0
        self.clock = time.pthread_getcpuclockid(self.target)
        self.stopping = threading.Event()
        self.categories: defaultdict[str, float] = defaultdict(float)
        self.own: defaultdict[str, float] = defaultdict(float)  # innermost frame's library
        self.inclusive: defaultdict[str, float] = defaultdict(float)  # every function on the stack
        self.total = 0.0

    def run(self) -> None:
        last = time.clock_gettime(self.clock)
        while not self.stopping.is_set():
            time.sleep(self.every_s)
            now = time.clock_gettime(self.clock)
            used, last = now - last, now
            frame = sys._current_frames().get(self.target)
            if used <= 0 or frame is None:
                continue
            self._charge(frame, used)

    def _charge(self, frame: FrameType, used: float) -> None:
        frames: list[tuple[str, str]] = []
        current: FrameType | None = frame
        while current is not None:
            frames.append((current.f_code.co_filename, current.f_code.co_name))
            current = current.f_back
        self.total += used
        self.categories[_category(frames)] += used
        self.own[_library(frames[0][0])] += used
        for filename, function in set(frames):
            self.inclusive[f"{_library(filename)}:{function} ({filename.rsplit('/', 1)[-1]})"] += used

    def shares(self, charged: dict[str, float], top: int) -> dict[str, str]:
        ranked = sorted(charged.items(), key=lambda kv: -kv[1])[:top]
        return {name: f"{used / self.total:.0%}" for name, used in ranked} if self.total else {}


def _profile(client: Any, call: Call, requests: int, expect: int, sql: list[str] | None = None) -> dict[str, Any]:
    for i in range(30):  # warm up: imports, JWKS, pools, caches
        call(client, -1 - i)
    out: dict[str, Any] = {"requests": requests}
    if sql is not None:
        sql.clear()
        call(client, -100)
        out["sql_statements_per_request"] = list(sql)
    cpu, wall = time.process_time(), time.perf_counter()
    statuses = [call(client, i) for i in range(requests)]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    # The sampler needs the GIL to look: make the main thread hand it over every 0.2 ms, not only when it
    # waits on I/O (which would charge all the CPU to the I/O call sites).
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    sampler = Sampler()
    sampler.start()
    statuses += [call(client, requests + i) for i in range(requests)]
    sampler.stopping.set()
    sampler.join()
    sys.setswitchinterval(switch)
    out.update(
        unexpected_statuses=sum(1 for s in statuses if s != expect),
        cpu_ms_per_request=round(cpu * 1000 / requests, 2),
        wall_ms_per_request=round(wall * 1000 / requests, 2),
        cpu_share_by_part=sampler.shares(sampler.categories, 12),
        cpu_share_by_innermost_library=sampler.shares(sampler.own, 12),
        cpu_share_inclusive_top_functions=sampler.shares(sampler.inclusive, 45),
    )
    return out


def _slots(rooms: list[int], days_ahead: int) -> Callable[[int], dict[str, Any]]:
    """Booking bodies on distinct half-hour slots `days_ahead` days from today, room after room."""
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=days_ahead)

    def body(i: int) -> dict[str, Any]:
        start = base + timedelta(minutes=30 * (i + 1000))
        end = start + timedelta(minutes=30)
        return {"room_id": rooms[i % len(rooms)], "start_time": start.isoformat(), "end_time": end.isoformat()}

    return body


def _reservation_calls(rooms: list[int], headers: dict[str, str]) -> dict[str, tuple[Call, int]]:
    body = _slots(rooms, 250)
    window = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)
    search = {
        "start": window.isoformat(),
        "end": (window + timedelta(hours=1)).isoformat(),
        "min_capacity": "8",
        "equipment": "projector,whiteboard",
    }
    day = {"room_id": str(rooms[0]), "date": window.date().isoformat()}
    return {
        "create": (lambda c, i: c.post("/reservations", json=body(i), headers=headers).status_code, 201),
        "search": (lambda c, _: c.get("/availability/rooms", query_string=search, headers=headers).status_code, 200),
        "availability": (lambda c, _: c.get("/availability", query_string=day, headers=headers).status_code, 200),
        "list": (lambda c, _: c.get("/reservations", headers=headers).status_code, 200),
    }


def _reservation(requests: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from reservation_service import create_app
    from servicekit.db import db
    from servicekit.logs import configure_logging

    configure_logging("reservation-service", "INFO")
    app = create_app()
    sql: list[str] = []
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", lambda *a: sql.append(" ".join(str(a[2]).split())[:100]))
    sa.event.listen(engine, "commit", lambda *_: sql.append("COMMIT"))
    headers = {"Authorization": f"Bearer {os.environ['BENCH_TOKEN']}"}
    rooms = [int(r) for r in os.environ["BENCH_ROOMS"].split(",")]
    calls = _reservation_calls(rooms, headers)
    return {name: _profile(app.test_client(), call, requests, expect, sql) for name, (call, expect) in calls.items()}


def _same_work(requests: int) -> dict[str, Any]:
    from bench.same_work_app import app

    body = _slots([int(r) for r in os.environ["BENCH_ROOMS"].split(",")], 300)

    def create(c: Any, i: int) -> int:
        return int(c.post("/reservations", json=body(i), headers={"Authorization": "Bearer x"}).status_code)

    return {"create": _profile(app.test_client(), create, requests, 201)}


def _minimal(requests: int) -> dict[str, Any]:
    from bench.minimal_app import app
    from servicekit.logs import configure_logging

    configure_logging("bench-ceiling", "INFO")
    client = app.test_client()
    body = {"room_id": 1, "start_time": "2030-01-01T10:00:00+00:00", "end_time": "2030-01-01T11:00:00+00:00"}

    def create(c: Any, _: int) -> int:
        return int(c.post("/reservations", json=body, headers={"Authorization": "Bearer x"}).status_code)

    return {"create": _profile(client, create, requests, 201)}


TARGETS = {"reservation": _reservation, "same_work": _same_work, "minimal": _minimal}


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2) or argv[0] not in TARGETS:
        print(__doc__, file=sys.stderr)
        return 2
    requests = int(argv[1]) if len(argv) == 2 else 300
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="bench-prometheus-"))
    result = TARGETS[argv[0]](requests)
    with open(os.environ["BENCH_PROFILE_OUT"], "w") as out:  # stdout carries the app's own log lines
        json.dump(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
