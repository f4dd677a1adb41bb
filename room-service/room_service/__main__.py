"""`python -m room_service web|relay|migrate`."""

import sys

from room_service import MIGRATIONS_DIR
from servicekit.boot import ServiceProcesses, main

SERVICE = ServiceProcesses(
    name="room-service",
    package="room_service",
    migrations_dir=MIGRATIONS_DIR,
    published_topics=("room_events",),
)

if __name__ == "__main__":
    sys.exit(main(SERVICE))
