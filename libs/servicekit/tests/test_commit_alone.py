"""Views marked statements_commit_alone run without BEGIN/COMMIT round trips; every other view, and every
connection the pool hands out afterwards, runs in a transaction as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg2.extensions
import pytest
import sqlalchemy as sa
from flask import Flask

from servicekit.db import current_session, db, statements_commit_alone
from servicekit.settings import sqlalchemy_url
from servicekit_testing import postgres_server_url


def _connection_state() -> dict[str, Any]:
    session = current_session()
    session.execute(sa.text("SELECT 1"))
    connection: Any = session.connection().connection.dbapi_connection
    status = connection.info.transaction_status
    return {
        "autocommit": connection.autocommit,
        "in_transaction": status == psycopg2.extensions.TRANSACTION_STATUS_INTRANS,
    }


@pytest.fixture
def app() -> Iterator[Flask]:
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=sqlalchemy_url(postgres_server_url()),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0},  # one connection: each view reuses it
    )
    db.init_app(app)

    @app.get("/marked")
    @statements_commit_alone
    def marked() -> dict[str, Any]:
        return _connection_state()

    @app.get("/plain")
    def plain() -> dict[str, Any]:
        return _connection_state()

    yield app
    with app.app_context():
        db.engine.dispose()


def test_only_a_marked_view_runs_without_a_transaction(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/plain").get_json() == {"autocommit": False, "in_transaction": True}
    assert client.get("/marked").get_json() == {"autocommit": True, "in_transaction": False}
    # The same pooled connection, back in transaction mode for the next view.
    assert client.get("/plain").get_json() == {"autocommit": False, "in_transaction": True}
