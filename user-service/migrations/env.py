"""Alembic environment: the shared runner, with this service's models as the target."""

from servicekit.db import db
from servicekit.migrations import run_env
from user_service.signin import models as signin_models  # noqa: F401  (registers the tables)
from user_service.tokens import models as token_models  # noqa: F401
from user_service.users import models  # noqa: F401

run_env(db.metadata)
