"""`python -m user_service web|relay|migrate`."""

import sys

from servicekit.boot import ServiceProcesses, main
from user_service import MIGRATIONS_DIR
from user_service.config import SERVICE_NAME

if __name__ == "__main__":
    sys.exit(main(ServiceProcesses(SERVICE_NAME, "user_service", MIGRATIONS_DIR, published_topics=("user_events",))))
