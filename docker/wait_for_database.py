"""Wait until the service's own database accepts a connection (Kubernetes: before `migrate`).

    python /app/wait_for_database.py          DATABASE_URL, PG* variables; WAIT_TIMEOUT_SECONDS (300)

The database may not exist yet (the chart's create-databases Job makes it) or the server may still be
starting; `migrate` itself fails at once in both cases, so this waits first and keeps a first install
from ending in an init container's crash-loop back-off. The waiting is servicekit's `wait_for_server`.
"""

from __future__ import annotations

import os
import sys

import psycopg2

from servicekit.dbadmin import wait_for_server


def _say(what: str, error: psycopg2.OperationalError) -> None:
    reason = (str(error).strip().splitlines() or ["unknown error"])[0]
    print(f"{what}: {reason}", file=sys.stderr, flush=True)


def wait(url: str, timeout_s: float, interval_s: float = 2.0) -> bool:
    try:
        wait_for_server(
            url,
            timeout_s,
            interval_s=interval_s,
            own_database=True,
            waiting=lambda error: _say("waiting for the database", error),
        )
    except psycopg2.OperationalError as error:
        _say("database still unavailable, giving up", error)
        return False
    return True


if __name__ == "__main__":
    sys.exit(0 if wait(os.environ["DATABASE_URL"], float(os.environ.get("WAIT_TIMEOUT_SECONDS", "300"))) else 1)
