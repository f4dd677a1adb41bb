"""Page parameters and the list envelope every collection shares."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicekit.prepared import prepared
from servicekit.schemas import Integer

MAX_PER_PAGE = 200


class PageQuery(ma.Schema):
    page = Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    per_page = Integer(load_default=50, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE))


# A list's total is counted exactly up to here; above it the planner's estimate is given, and the body says so
# with "total_is_estimate": true (counting a million rows for every page would cost more than the page).
EXACT_TOTAL_UP_TO = 10_000


def page_envelope_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The documented shape of a page of items: {items, page, per_page, total[, total_is_estimate]}."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "page": Integer(),
            "per_page": Integer(),
            "total": Integer(),
            "total_is_estimate": ma.fields.Boolean(
                metadata={"description": f"Present (true) when `total` is an estimate: above {EXACT_TOTAL_UP_TO:,}."}
            ),
        },
        name=name,
    )


# The column each row of a page carries: the capped count of the whole list (so a page and its total take
# one statement). Render functions read the columns they name, never the whole row.
TOTAL_COLUMN = "list_total_capped"


def paginate(
    session: Session,
    statement: sa.Select[*tuple[Any, ...]],
    *,
    page: int,
    per_page: int,
    render: Callable[[sa.Row[*tuple[Any, ...]]], Any] = lambda row: row[0],
    objects: bool = False,
    parameters: dict[str, Any] | None = None,
    built_once: bool = False,
) -> dict[str, Any]:
    """Run a select (already in a stable order) for one page, with the total count, in one statement (a
    second one only past the last page, or above EXACT_TOTAL_UP_TO for the estimate). A select of columns
    runs as a Core statement; one of mapped `objects` through the ORM (whose compile and load steps cost more
    CPU than a page's query, so only where objects are wanted). A statement `built_once` (cached by the
    caller, values as bind `parameters`) is paged without building anything per request, and its page is
    a prepared statement on each connection (planned once, not on every request)."""
    page_statement = _page_of(statement)
    values = {**(parameters or {}), PAGE_LIMIT: per_page, PAGE_OFFSET: (page - 1) * per_page}
    rows: list[Any]
    if objects:
        rows = list(session.execute(page_statement, values).all())
    elif built_once:
        rows = prepared(page_statement).rows(session, values)
    else:
        rows = list(session.connection().execute(page_statement, values).all())
    envelope: dict[str, Any] = {"items": [render(row) for row in rows], "page": page, "per_page": per_page}
    capped_total = getattr(rows[0], TOTAL_COLUMN) if rows else None
    return {**envelope, **count(session, statement, capped_total=capped_total, parameters=parameters)}


PAGE_LIMIT, PAGE_OFFSET = "page_limit", "page_offset"


@lru_cache(maxsize=256)
def _page_of(statement: sa.Select[*tuple[Any, ...]]) -> sa.Select[*tuple[Any, ...]]:
    """One page of `statement`, with the capped total as an extra column (remembered for statements that are
    built once; a statement built per request is paged anew)."""
    total_column = sa.select(sa.func.count()).select_from(_capped(statement)).correlate(None).scalar_subquery()
    paged = statement.add_columns(total_column.label(TOTAL_COLUMN))
    return paged.limit(sa.bindparam(PAGE_LIMIT)).offset(sa.bindparam(PAGE_OFFSET))


def _capped(statement: sa.Select[*tuple[Any, ...]]) -> sa.Subquery:
    """The rows to count, up to one past the exact limit. Only a constant is selected, so PostgreSQL can drop a
    LEFT JOIN the page needs only for a column (a room's time zone) from the count."""
    unordered = statement.order_by(None)
    rows: sa.Select[Any] = unordered.with_only_columns(sa.literal_column("1"), maintain_column_froms=True)
    return rows.limit(EXACT_TOTAL_UP_TO + 1).subquery()


def count(
    session: Session,
    statement: sa.Select[*tuple[Any, ...]],
    *,
    capped_total: int | None = None,
    parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """{"total": n}, exact up to EXACT_TOTAL_UP_TO; above it the planner's estimate, marked as one. With
    `capped_total`, the count up to the cap is known already."""
    connection = session.connection()
    total = capped_total
    if total is None:
        capped_count = sa.select(sa.func.count()).select_from(_capped(statement))
        total = connection.execute(capped_count, parameters or {}).scalar() or 0
    if total <= EXACT_TOTAL_UP_TO:
        return {"total": total}
    # IN lists expanded into one parameter each: the statement is sent as text, without SQLAlchemy's expansion.
    bound = statement.params(parameters) if parameters else statement  # values given at execution, set here
    compiled = bound.order_by(None).compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    plan = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", dict(compiled.params)).scalar()
    estimate = int(plan[0]["Plan"]["Plan Rows"]) if plan else 0
    return {"total": max(estimate, EXACT_TOTAL_UP_TO + 1), "total_is_estimate": True}
