"""`python -m reservation_service web|relay|consumer|migrate|scheduler`."""

import sys

from reservation_service import MIGRATIONS_DIR
from servicekit.boot import ServiceProcesses, main


def _handlers():  # type: ignore[no-untyped-def]
    from reservation_service.replica.handlers import HANDLERS

    return HANDLERS


def _scheduler():  # type: ignore[no-untyped-def]
    from reservation_service.checkin.scheduler import run_scheduler

    return run_scheduler


SERVICE = ServiceProcesses(
    name="reservation-service",
    package="reservation_service",
    migrations_dir=MIGRATIONS_DIR,
    published_topics=("reservation_events",),
    consumer_handlers=_handlers,
    extra_commands={"scheduler": _scheduler},
)

if __name__ == "__main__":
    sys.exit(main(SERVICE))
