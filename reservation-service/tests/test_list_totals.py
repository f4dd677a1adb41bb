"""A list's total is exact up to 10,000; above that it is the planner's estimate, and the body says so."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from reservation_service.reservations.models import Reservation
from servicekit.pagination import EXACT_TOTAL_UP_TO, count


def _book_many(engine: sa.Engine, room: int, user_id: int, count: int, first_hour: int = 0) -> None:
    """Rows straight into the table (no events: this is about counting), an hour apart from 2031 on."""
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO reservations (room_id, user_id, start_time, end_time, occupied_until, attendees, status,"
                " version, created_at, updated_at)"
                " SELECT :room, :user_id, t, t + interval '30 minutes', t + interval '30 minutes', 1, 'confirmed', 1,"
                " now(), now()"
                " FROM generate_series(1, :count) AS g,"
                " LATERAL (SELECT timestamptz '2031-01-01 00:00+00' + (g + :first) * interval '1 hour' AS t) AS s"
            ),
            {"room": room, "user_id": user_id, "count": count, "first": first_hour},
        )
        connection.execute(sa.text("ANALYZE reservations"))


def _page(client: FlaskClient, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    response = client.get(f"/reservations?per_page=5{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def test_a_total_up_to_the_limit_is_exact_and_not_marked(
    client: FlaskClient, engine: sa.Engine, admin: dict[str, str], room: int
) -> None:
    _book_many(engine, room, user_id=5, count=EXACT_TOTAL_UP_TO)
    body = _page(client, admin)
    assert body["total"] == EXACT_TOTAL_UP_TO
    assert "total_is_estimate" not in body
    assert len(body["items"]) == 5


def test_a_total_past_the_limit_is_an_estimate_and_says_so(
    client: FlaskClient, engine: sa.Engine, admin: dict[str, str], room: int
) -> None:
    _book_many(engine, room, user_id=5, count=EXACT_TOTAL_UP_TO + 2_000)
    _book_many(engine, room, user_id=6, count=30, first_hour=50_000)
    body = _page(client, admin)
    assert body["total_is_estimate"] is True
    assert body["total"] > EXACT_TOTAL_UP_TO
    assert abs(body["total"] - (EXACT_TOTAL_UP_TO + 2_030)) < 2_000  # the planner's figure, near the truth
    assert [item["user_id"] for item in body["items"]] == [5] * 5  # the page itself is exact, in order
    one_user = _page(client, admin, "&user_id=6")  # a filtered list small enough is counted exactly
    assert one_user["total"] == 30 and "total_is_estimate" not in one_user
    other_user = _page(client, admin, "&user_id=5")  # a filtered list's estimate plans with the filter's value
    assert other_user["total_is_estimate"] is True
    assert abs(other_user["total"] - (EXACT_TOTAL_UP_TO + 2_000)) < 1_000  # not the floor of 10,001


def test_an_estimate_for_a_statement_with_an_in_list(engine: sa.Engine, room: int) -> None:
    """The estimate sends the statement as text: an IN list must be expanded into its parameters first."""
    _book_many(engine, room, user_id=5, count=EXACT_TOTAL_UP_TO + 2_000)
    statement = sa.select(Reservation.id).where(Reservation.user_id.in_([5, 6]), Reservation.id.not_in([1, 2]))
    with Session(engine) as session:
        total = count(session, statement)
    assert total["total_is_estimate"] is True and total["total"] > EXACT_TOTAL_UP_TO
