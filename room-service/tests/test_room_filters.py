"""GET /rooms filters, alone and combined, on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from room_service.rooms.models import Room

MakeRoom = Callable[..., dict[str, Any]]


def names(client: FlaskClient, headers: dict[str, str], query: str) -> list[str]:
    response = client.get(f"/rooms?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [room["name"] for room in response.get_json()["items"]]


@pytest.fixture
def catalogue(make_room: MakeRoom) -> None:
    make_room(name="Small", capacity=4, equipment="Projector", building="North", floor="1")
    make_room(name="Medium", capacity=8, equipment=["projector", "whiteboard"], building="north", floor="3")
    make_room(name="Large", capacity=12, equipment="Whiteboard, Video Conf", building="North Annex", floor="13")
    make_room(name="Hall", capacity=40, equipment="projector,whiteboard,video conf", building="South", floor="B1")
    make_room(name="Closed Lab", capacity=8, equipment="projector", building="North", floor="3", is_active=False)


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Small", "Medium", "Large", "Hall"]),
        ("min_capacity=8", ["Medium", "Large", "Hall"]),
        ("min_capacity=13", ["Hall"]),
        ("min_capacity=1", ["Small", "Medium", "Large", "Hall"]),
        ("min_capacity=10000", []),
        ("equipment=projector", ["Small", "Medium", "Hall"]),
        ("equipment=whiteboard,projector", ["Medium", "Hall"]),
        ("equipment= Whiteboard ,PROJECTOR,", ["Medium", "Hall"]),
        ("equipment=video%20%20conf", ["Large", "Hall"]),
        ("equipment=projector,telephone", []),
        ("equipment=", ["Small", "Medium", "Large", "Hall"]),
        ("building=north", ["Small", "Medium"]),
        ("building=NORTH%20ANNEX", ["Large"]),
        ("building=Nor", []),
        ("floor=3", ["Medium"]),
        ("floor=B1", ["Hall"]),
        ("floor=b1", []),
        ("floor=1", ["Small"]),
        ("is_active=false", ["Closed Lab"]),
        ("is_active=true", ["Small", "Medium", "Large", "Hall"]),
    ],
)
def test_each_filter_alone(client: FlaskClient, employee: dict[str, str], query: str, expected: list[str]) -> None:
    assert names(client, employee, query) == expected


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("min_capacity=5&equipment=projector", ["Medium", "Hall"]),
        ("min_capacity=5&equipment=projector&building=NORTH", ["Medium"]),
        ("building=north&floor=3", ["Medium"]),
        ("building=north&floor=3&is_active=false", ["Closed Lab"]),
        ("equipment=whiteboard&q=l", ["Large", "Hall"]),
        ("equipment=projector&is_active=false&q=lab&min_capacity=8&building=North&floor=3", ["Closed Lab"]),
        ("equipment=projector&is_active=false&min_capacity=9", []),
    ],
)
def test_filters_combine(client: FlaskClient, employee: dict[str, str], query: str, expected: list[str]) -> None:
    assert names(client, employee, query) == expected


def test_q_searches_name_and_description_ignoring_case(
    client: FlaskClient, employee: dict[str, str], make_room: MakeRoom
) -> None:
    make_room(name="Alpha Lab")
    make_room(name="Beta", description="Next to the LABORATORY")
    make_room(name="Gamma", description=None)
    make_room(name="Delta", description="quiet")
    assert names(client, employee, "q=lab") == ["Alpha Lab", "Beta"]
    assert names(client, employee, "q=ALPHA%20l") == ["Alpha Lab"]
    assert names(client, employee, "q=QUIET") == ["Delta"]
    assert names(client, employee, "q=zeta") == []


def test_q_takes_wildcards_literally(client: FlaskClient, employee: dict[str, str], make_room: MakeRoom) -> None:
    make_room(name="Room 100%")
    make_room(name="Room_B")
    make_room(name="RoomXB", description="back\\slash")
    make_room(name="Plain")
    assert names(client, employee, "q=%25") == ["Room 100%"]
    assert names(client, employee, "q=m_b") == ["Room_B"]
    assert names(client, employee, "q=k%5Cs") == ["RoomXB"]


def test_pages_count_only_matching_rooms_in_id_order(
    client: FlaskClient, employee: dict[str, str], make_room: MakeRoom
) -> None:
    for number in range(7):
        make_room(name=f"Seat {number}", capacity=2 + number, equipment="tv" if number % 2 else "")
    page = client.get("/rooms?equipment=tv&per_page=2&page=2", headers=employee).get_json()
    assert page["total"] == 3 and page["page"] == 2 and page["per_page"] == 2
    assert [room["name"] for room in page["items"]] == ["Seat 5"]
    ids = [room["id"] for room in client.get("/rooms?min_capacity=3", headers=employee).get_json()["items"]]
    assert ids == sorted(ids) and len(ids) == 6


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("min_capacity=abc", "min_capacity"),
        ("min_capacity=0", "min_capacity"),
        ("min_capacity=-3", "min_capacity"),
        ("min_capacity=1.5", "min_capacity"),
        ("min_capacity=10001", "min_capacity"),
        ("min_capacity=99999999999999999999999", "min_capacity"),
        ("min_capacity=", "min_capacity"),
        ("is_active=maybe", "is_active"),
        ("equipment=" + "x" * 101, "equipment"),
        ("per_page=500&min_capacity=2", "per_page"),
        ("q=a%00b", "q"),
        ("building=%00", "building"),
        ("floor=1%00", "floor"),
        ("equipment=tv,a%00", "equipment"),
    ],
)
def test_bad_filters_are_422_with_the_field_named(
    client: FlaskClient, employee: dict[str, str], query: str, field: str
) -> None:
    response = client.get(f"/rooms?{query}", headers=employee)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert field in [error["field"] for error in response.get_json()["errors"]]


def test_equipment_filter_is_served_by_the_gin_index(engine: sa.Engine) -> None:
    """The service's `@>` as SQLAlchemy writes it can use the index (sequential scans ruled out to ask the planner)."""
    statement = sa.select(Room.id).where(Room.equipment.contains(["projector"]))
    compiled = statement.compile(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars().all()
    assert "ix_rooms_equipment" in "\n".join(plan)
