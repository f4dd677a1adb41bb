"""`python -m room_service web|relay|migrate`."""

import sys

from room_service import MIGRATIONS_DIR
from room_service.config import SERVICE_NAME
from servicekit.boot import ServiceProcesses, main

if __name__ == "__main__":
    sys.exit(main(ServiceProcesses(SERVICE_NAME, "room_service", MIGRATIONS_DIR, published_topics=("room_events",))))
