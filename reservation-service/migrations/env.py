"""Alembic environment: the shared runner, with this service's models as the target."""

from reservation_service.calendar import secrets as calendar_models  # noqa: F401
from reservation_service.replica import models as replica_models  # noqa: F401
from reservation_service.reservations import models as reservation_models  # noqa: F401  (registers the tables)
from reservation_service.series import models as series_models  # noqa: F401
from servicekit.db import db
from servicekit.migrations import run_env

run_env(db.metadata)
