"""Prometheus metrics of the web process, served at /metrics on the service's own port.

gunicorn runs several worker processes, so the metrics use prometheus_client's multiprocess mode:
each worker writes its samples under PROMETHEUS_MULTIPROC_DIR (set by the boot command) and /metrics
aggregates them.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from servicekit.db import db

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
POOL_IN_USE = Gauge("db_pool_connections_in_use", "Database connections checked out", multiprocess_mode="livesum")
POOL_SIZE = Gauge("db_pool_size", "Database connections held open", multiprocess_mode="livesum")
UNMEASURED = ("/metrics", "/healthz", "/readyz")


def registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
        return collected
    from prometheus_client import REGISTRY

    return REGISTRY


def install_metrics(app: Flask) -> None:
    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        if request.path in UNMEASURED:
            return response
        # The route template, not the path: /rooms/<id:room_id>, so ids do not explode the label set.
        route = request.url_rule.rule if request.url_rule is not None else "unrouted"
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        started = g.get("metrics_started")
        if started is not None:
            LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus metrics (never routed by the gateway)."""
        pool = db.engine.pool
        POOL_IN_USE.set(getattr(pool, "checkedout", lambda: 0)())
        POOL_SIZE.set(getattr(pool, "size", lambda: 0)())
        return Response(generate_latest(registry()), mimetype=CONTENT_TYPE_LATEST)
