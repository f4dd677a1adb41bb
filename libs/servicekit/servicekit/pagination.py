"""Page parameters and the list envelope every collection shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicekit.schemas import Integer

MAX_PER_PAGE = 200


class PageQuery(ma.Schema):
    page = Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    per_page = Integer(load_default=50, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE))


def page_envelope_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The documented shape of a page of items: {items, page, per_page, total}."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "page": Integer(),
            "per_page": Integer(),
            "total": Integer(),
        },
        name=name,
    )


def paginate(
    session: Session,
    statement: sa.Select[*tuple[Any, ...]],
    *,
    page: int,
    per_page: int,
    render: Callable[[sa.Row[*tuple[Any, ...]]], Any] = lambda row: row[0],
) -> dict[str, Any]:
    """Run a select (already in a stable order) for one page, with the total count."""
    total = session.scalar(sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())) or 0
    rows = session.execute(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [render(row) for row in rows], "page": page, "per_page": per_page, "total": total}
