"""Liveness and readiness endpoints, served on each service's own port."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, Flask, jsonify
from flask.typing import ResponseReturnValue

from servicekit.db import db
from servicekit.migrations import head_revisions
from servicekit.problems import Problem


def health_blueprint(migrations_dir: Path) -> Blueprint:
    heads = head_revisions(migrations_dir)
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/healthz")
    def healthz() -> ResponseReturnValue:
        """The process is alive."""
        return jsonify(status="ok")

    @blueprint.get("/readyz")
    def readyz() -> ResponseReturnValue:
        """The database answers and its schema is at the latest migration."""
        try:
            with db.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
                current = set(connection.scalars(sa.text("SELECT version_num FROM alembic_version")))
        except sa.exc.ProgrammingError:
            current = set()  # no alembic_version table yet: never migrated
        except sa.exc.SQLAlchemyError:
            raise Problem(503, "The database does not answer.") from None
        if current != heads:
            raise Problem(503, f"The schema is at {sorted(current)}, not at {sorted(heads)}; run migrate.")
        return jsonify(status="ready", schema=sorted(current))

    return blueprint


def register_health(app: Flask, migrations_dir: Path) -> None:
    app.register_blueprint(health_blueprint(migrations_dir))
