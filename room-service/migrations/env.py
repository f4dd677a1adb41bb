"""Alembic environment: the shared runner, with this service's models as the target."""

from room_service.rooms import models  # noqa: F401  (registers the tables)
from servicekit.db import db
from servicekit.migrations import run_env

run_env(db.metadata)
