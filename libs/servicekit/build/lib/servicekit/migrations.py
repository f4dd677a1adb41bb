"""Alembic glue: one-shot migrations serialized by an advisory lock, and the readiness check of the schema."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

MIGRATION_LOCK_KEY = 0x6D696772  # "migr": one key for every service; each service has its own database


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(migrations_dir: Path, database_url: str) -> None:
    """Bring the schema to the latest revision; parallel runs wait for each other."""
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()
        try:
            config = alembic_config(migrations_dir, database_url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
    engine.dispose()
    log.info("migrations applied", extra={"database": engine.url.database})


def head_revisions(migrations_dir: Path) -> set[str]:
    script = ScriptDirectory.from_config(alembic_config(migrations_dir, "postgresql://unused"))
    return set(script.get_heads())


def run_env(target_metadata: sa.MetaData | None = None) -> None:
    """The body of every service's migrations/env.py (online mode only)."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection, target_metadata)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as fresh:
        _run(fresh, target_metadata)
        fresh.commit()


def _run(connection: sa.Connection, target_metadata: sa.MetaData | None) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
