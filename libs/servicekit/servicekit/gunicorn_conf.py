"""gunicorn settings, all from the environment (the boot command sets SERVICE_NAME)."""

import os

from servicekit.logs import logging_config

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Workers are recycled now and then (jittered, so not all at once): a slow leak cannot grow without bound.
# The app is loaded once, before the workers fork: a recycled worker starts in milliseconds instead of
# importing everything again (0.8 s of CPU each, which at 2,000 requests a worker was 0.4 ms a request).
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "1000"))
# The longest request and header lines gunicorn takes (its maximum): the gateway refuses longer ones first,
# as problem+json (large_client_header_buffers 8k), so gunicorn's HTML 414/431 never reaches a client.
limit_request_line = 8190
limit_request_field_size = 8190
# gunicorn 27's control socket would live in the home directory, which a read-only image does not have.
control_socket_disable = True
# Requests are logged by the app itself (with request id, user and duration); gunicorn's access log would repeat them.
accesslog = None
logconfig_dict = logging_config(os.environ.get("SERVICE_NAME", "service"), os.environ.get("LOG_LEVEL", "INFO").upper())
# Temporary files in memory: works with a read-only root filesystem.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else None)  # noqa: S108


def child_exit(server: object, worker: object) -> None:
    """A dead worker's live gauges leave the aggregate (prometheus_client multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined,no-untyped-call]
