"""The SQLAlchemy handle. Each service runs in its own process with its own database."""

from __future__ import annotations

import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg2
import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event, exc, pool
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, Session, mapped_column

View = TypeVar("View", bound=Callable[..., Any])

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects keep the state they were committed with: a response is built from what this request wrote,
# not re-read after commit (when a concurrent request may already have deleted the row).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


@event.listens_for(pool.Pool, "checkout")
def _server_still_there(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A pooled connection whose server went away (a restart, a failover, an idle timeout) is replaced before
    use, at no round trip's cost: PostgreSQL says goodbye on the socket when it ends a session, so an idle
    connection with something to read, or one already closed, is dead. (What this cannot see, a network that
    dropped silently, surfaces as a 503 on the first statement and invalidates the pool.)"""
    if dbapi_connection.closed:
        raise exc.DisconnectionError("the connection is closed")
    socket = select.poll()  # not select(): it cannot watch descriptors past 1023
    socket.register(dbapi_connection.fileno(), select.POLLIN)
    if socket.poll(0):
        raise exc.DisconnectionError("the server closed the connection")


def statements_commit_alone(view: View) -> View:
    """Mark a view whose statements may each commit on its own: one that only reads, or whose one write is a
    single statement (atomic by itself, like a function call). Its session then runs on a connection in
    autocommit mode, which saves two round trips a request: the BEGIN, and the COMMIT or ROLLBACK. (Under
    READ COMMITTED every statement reads its own snapshot anyway, so reads lose nothing.) Not for a view
    that writes twice: the first write would stay if the second failed."""
    view.statements_commit_alone = True  # type: ignore[attr-defined]
    return view


@event.listens_for(Session, "after_begin")
def _commit_alone_in_marked_views(session: Session, transaction: Any, connection: sa.Connection) -> None:
    """Runs when a session takes its connection, before its first statement (psycopg2 sends BEGIN then)."""
    if not has_request_context():
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "statements_commit_alone", False):
        connection.connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]


@event.listens_for(pool.Pool, "checkin")
def _transactions_again(dbapi_connection: Any, record: Any) -> None:
    """Every connection goes back to the pool as it came: in transaction mode (no round trip: psycopg2 only
    stops sending BEGIN by itself)."""
    if dbapi_connection is not None and not dbapi_connection.closed and dbapi_connection.autocommit:
        dbapi_connection.autocommit = False


def utcnow() -> datetime:
    return datetime.now(UTC)


def current_session() -> Session:
    """The request's session (Flask-SQLAlchemy scopes it to the app context)."""
    return db.session()


@contextmanager
def driver_cursor(session: Session) -> Iterator[Any]:
    """A psycopg2 cursor in the session's transaction, for a hot path's fixed statements (plain SQL, `%s`
    parameters, rows as tuples): SQLAlchemy's execution context costs more CPU than such a round trip. Errors
    come out as SQLAlchemy's, and a lost server invalidates the connection, as for any other statement."""
    connection = session.connection()
    dbapi_connection: Any = connection.connection.dbapi_connection  # psycopg2's, which the stubs do not know
    try:
        with dbapi_connection.cursor() as cursor:
            yield cursor
    except psycopg2.Error as error:
        lost = connection.dialect.is_disconnect(error, dbapi_connection, None)  # type: ignore[arg-type]
        if lost:
            connection.invalidate(error)
        raise exc.DBAPIError.instance(None, None, error, psycopg2.Error, connection_invalidated=lost) from error


class Versioned:
    """An aggregate's version: 1 when created, one more with every change its events announce."""

    version: Mapped[int] = mapped_column(sa.Integer, default=1)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)


def contains(
    text: str | sa.BindParameter[str], *columns: sa.ColumnElement[Any] | InstrumentedAttribute[Any]
) -> sa.ColumnElement[bool]:
    """Any of the columns holds `text`, ignoring case; its own % and _ are taken literally. With a bind
    parameter for a statement built once, its value is `containing_pattern(text)`."""
    pattern = containing_pattern(text) if isinstance(text, str) else text
    return sa.or_(*(column.ilike(pattern, escape="\\") for column in columns))


def containing_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
