"""Wait until the service's own database accepts a connection (Kubernetes: before `migrate`).

    python /app/wait_for_database.py          DATABASE_URL, PG* variables; WAIT_TIMEOUT_SECONDS (300)

The database may not exist yet (the chart's create-databases Job makes it) or the server may still be
starting; `migrate` itself fails at once in both cases, so this waits first and keeps a first install
from ending in an init container's crash-loop back-off.
"""

from __future__ import annotations

import os
import sys
import time

import psycopg2


def wait(url: str, timeout_s: float, interval_s: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg2.connect(url, connect_timeout=3).close()
            return True
        except psycopg2.OperationalError as error:
            reason = (str(error).strip().splitlines() or ["unknown error"])[0]
            if time.monotonic() > deadline:
                print(f"database still unavailable, giving up: {reason}", file=sys.stderr, flush=True)
                return False
            print(f"waiting for the database: {reason}", file=sys.stderr, flush=True)
            time.sleep(interval_s)


if __name__ == "__main__":
    # libpq takes the URL as it is; only SQLAlchemy's driver suffix has to go.
    database_url = os.environ["DATABASE_URL"].replace("postgresql+psycopg2://", "postgresql://", 1)
    sys.exit(0 if wait(database_url, float(os.environ.get("WAIT_TIMEOUT_SECONDS", "300"))) else 1)
