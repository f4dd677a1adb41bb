"""Prometheus metrics of the web process, served at /metrics on the service's own port.

gunicorn runs several worker processes, so the metrics use prometheus_client's multiprocess mode:
each worker writes its samples under PROMETHEUS_MULTIPROC_DIR (set by the boot command) and /metrics
aggregates them. The outbox gauges are read from the database at each scrape instead, so they keep
telling the truth when the relay that would otherwise report them has stopped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from flask import Flask, Response, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from servicekit.context import request_elapsed_s
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
log = logging.getLogger(__name__)

# The partial index ix_outbox_unsent serves the first query, the primary key the second.
OUTBOX_QUERY = text(
    "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox WHERE sent_at IS NULL"
)
LAST_SENT_QUERY = text(
    "SELECT extract(epoch FROM sent_at) FROM outbox WHERE sent_at IS NOT NULL ORDER BY id DESC LIMIT 1"
)


class OutboxCollector(Collector):
    """The service's outbox as the database sees it: unpublished rows, the oldest one's age, the last publish."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SET LOCAL statement_timeout = 2000"))
                pending, age = connection.execute(OUTBOX_QUERY).one()
                last_sent = connection.execute(LAST_SENT_QUERY).scalar()
        except SQLAlchemyError as error:  # the database is away (/readyz says so): report what the workers know
            log.warning("outbox metrics unavailable", extra={"error": str(error).splitlines()[0]})
            return
        yield GaugeMetricFamily("outbox_pending_events", "Outbox rows not yet published to Kafka", value=pending)
        yield GaugeMetricFamily(
            "outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox row (0: none)", value=float(age)
        )
        if last_sent is not None:  # sent rows are pruned after OUTBOX_RETENTION_HOURS
            yield GaugeMetricFamily(
                "outbox_last_published_timestamp_seconds",
                "When the newest published outbox row was sent (Unix time)",
                value=float(last_sent),
            )


OUTBOX_REGISTRY = CollectorRegistry(auto_describe=False)
OUTBOX_REGISTRY.register(OutboxCollector())


def registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
        return collected
    from prometheus_client import REGISTRY

    return REGISTRY


def install_metrics(app: Flask) -> None:
    @app.after_request
    def _observe(response: Response) -> Response:
        if request.path in UNMEASURED:
            return response
        # The route template, not the path: /rooms/<id:room_id>, so ids do not explode the label set.
        route = request.url_rule.rule if request.url_rule is not None else "unrouted"
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        elapsed = request_elapsed_s()
        if elapsed is not None:
            LATENCY.labels(request.method, route).observe(elapsed)
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus metrics (never routed by the gateway)."""
        pool = db.engine.pool
        POOL_IN_USE.set(getattr(pool, "checkedout", lambda: 0)())
        POOL_SIZE.set(getattr(pool, "size", lambda: 0)())
        body = generate_latest(registry()) + generate_latest(OUTBOX_REGISTRY)
        return Response(body, mimetype=CONTENT_TYPE_LATEST)
