"""A room's booking policy: validated at its limits, defaulted, carried in the room's events, and given to
rooms that existed before policies did."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from conftest import MakeRoom, ReadOutbox
from flask.testing import FlaskClient

from room_service import MIGRATIONS_DIR
from servicekit.dbadmin import drop_database, ensure_database
from servicekit.migrations import alembic_config
from servicekit_testing import postgres_server_url, unique_name

DEFAULTS = {
    "max_days_ahead": 365,
    "max_duration_minutes": None,
    "buffer_minutes": 0,
    "opening_hours": None,
    "requires_check_in": False,
    "check_in_minutes": 15,
}
EDGES = [
    ("max_days_ahead", 1, 3650, [0, 3651, -1, "30", 1.5, True]),
    ("max_duration_minutes", 15, 1440, [14, 1441, "60"]),
    ("buffer_minutes", 0, 240, [-1, 241, None, "5"]),
    ("check_in_minutes", 1, 120, [0, 121, None]),
]


def test_a_new_room_gets_the_default_policy(make_room: MakeRoom) -> None:
    room = make_room()
    assert {key: room[key] for key in DEFAULTS} == DEFAULTS


@pytest.mark.parametrize(("field", "low", "high", "bad"), EDGES)
def test_each_limit_is_taken_at_its_edges_and_refused_past_them(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, field: str, low: int, high: int, bad: list[Any]
) -> None:
    assert make_room(**{field: low})[field] == low
    room = make_room(**{field: high})
    assert room[field] == high
    for value in bad:
        created = client.post(
            "/rooms", json={"name": f"Bad {field} {value!r}", "capacity": 2, field: value}, headers=admin
        )
        assert created.status_code == 422, (value, created.get_json())
        assert [error["field"] for error in created.get_json()["errors"]] == [field]
        changed = client.patch(f"/rooms/{room['id']}", json={field: value}, headers=admin)
        assert changed.status_code == 422, (value, changed.get_json())
    assert client.get(f"/rooms/{room['id']}", headers=admin).get_json()[field] == high


def test_no_horizon_and_no_duration_limit_are_null(make_room: MakeRoom) -> None:
    room = make_room(max_days_ahead=None, max_duration_minutes=None)
    assert room["max_days_ahead"] is None and room["max_duration_minutes"] is None


def test_check_in_flags_are_strict_booleans(client: FlaskClient, admin: dict[str, str]) -> None:
    for value in ("true", 1, None):
        body = {"name": "Strict", "capacity": 2, "requires_check_in": value}
        assert client.post("/rooms", json=body, headers=admin).status_code == 422


def test_opening_hours_are_stored_sorted_with_adjacent_intervals_joined(make_room: MakeRoom) -> None:
    hours = {
        "mon": [{"start": "13:00", "end": "18:00"}, {"start": "08:00", "end": "13:00"}],
        "tue": [{"start": "00:00", "end": "24:00"}],
        "wed": [{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}],
        "sat": [],
    }
    room = make_room(opening_hours=hours)
    assert room["opening_hours"] == {
        "mon": [{"start": "08:00", "end": "18:00"}],
        "tue": [{"start": "00:00", "end": "24:00"}],
        "wed": [{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}],
        "sat": [],
    }


@pytest.mark.parametrize(
    "hours",
    [
        [],
        "08:00-18:00",
        {"monday": [{"start": "08:00", "end": "18:00"}]},
        {"mon": {"start": "08:00", "end": "18:00"}},
        {"mon": [{"start": "18:00", "end": "08:00"}]},
        {"mon": [{"start": "08:00", "end": "08:00"}]},
        {"mon": [{"start": "24:00", "end": "24:00"}]},
        {"mon": [{"start": "8:00", "end": "18:00"}]},
        {"mon": [{"start": "08:00", "end": "24:01"}]},
        {"mon": [{"start": "08:00", "end": "12:60"}]},
        {"mon": [{"start": "08:00", "end": "12:00", "note": "x"}]},
        {"mon": [{"start": "08:00"}]},
        {"mon": [{"start": "08:00", "end": "13:00"}, {"start": "12:00", "end": "18:00"}]},
        {"mon": [{"start": "\u0660\u0668:00", "end": "18:00"}]},
    ],
)
def test_bad_opening_hours_are_422_on_the_field(client: FlaskClient, admin: dict[str, str], hours: Any) -> None:
    response = client.post("/rooms", json={"name": "Hours", "capacity": 2, "opening_hours": hours}, headers=admin)
    assert response.status_code == 422, response.get_json()
    assert [error["field"] for error in response.get_json()["errors"]] == ["opening_hours"]


def test_policy_changes_are_carried_in_room_events(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, outbox: ReadOutbox
) -> None:
    room = make_room(buffer_minutes=10)
    assert outbox("room_created")[-1]["data"]["buffer_minutes"] == 10
    hours = {"fri": [{"start": "09:00", "end": "17:00"}]}
    changed = client.patch(f"/rooms/{room['id']}", json={"opening_hours": hours, "max_days_ahead": None}, headers=admin)
    assert changed.status_code == 200
    data = outbox("room_updated")[-1]["data"]
    assert {key: data[key] for key in DEFAULTS} == {
        **DEFAULTS,
        "buffer_minutes": 10,
        "opening_hours": hours,
        "max_days_ahead": None,
    }


def test_rooms_from_before_policies_get_the_defaults_and_an_event() -> None:
    url = (
        sa.engine.make_url(postgres_server_url())
        .set(drivername="postgresql+psycopg2", database=unique_name("test_room_upgrade"))
        .render_as_string(hide_password=False)
    )
    ensure_database(url)
    try:
        config = alembic_config(MIGRATIONS_DIR, url)
        command.upgrade(config, "0003")
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO rooms (name, name_key, capacity, equipment, timezone, is_active, version,"
                    " created_at, updated_at) VALUES ('Old', 'old', 4, '{tv}', 'Europe/Berlin', true, 3, now(), now())"
                )
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            room = connection.execute(sa.text("SELECT * FROM rooms")).mappings().one()
            payload = connection.scalar(sa.text("SELECT payload FROM outbox WHERE event_type = 'room_updated'"))
        engine.dispose()
        assert room["version"] == 4 and room["max_days_ahead"] == 365 and room["buffer_minutes"] == 0
        assert payload["aggregate_id"] == room["id"] and payload["version"] == 4
        assert payload["data"]["name"] == "Old" and payload["data"]["equipment"] == ["tv"]
        assert {key: payload["data"][key] for key in DEFAULTS} == DEFAULTS
    finally:
        drop_database(url)
