"""`python -m user_service web|relay|migrate`."""

import sys

from servicekit.boot import ServiceProcesses, main
from user_service import MIGRATIONS_DIR

SERVICE = ServiceProcesses(
    name="user-service",
    package="user_service",
    migrations_dir=MIGRATIONS_DIR,
    published_topics=("user_events",),
)

if __name__ == "__main__":
    sys.exit(main(SERVICE))
