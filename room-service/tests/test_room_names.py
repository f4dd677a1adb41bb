"""Room names are unique as people read them: invisible and compatibility characters do not make a new name."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import MakeRoom
from flask.testing import FlaskClient

from room_service.rooms.names import has_visible_character, name_key

LOOKALIKES = [
    "Board\u200broom",  # zero-width space
    "Boardroom\u200d",  # zero-width joiner at the end
    "\u202eBoardroom",  # right-to-left override
    "\uff22\uff4f\uff41\uff52\uff44\uff52\uff4f\uff4f\uff4d",  # full-width letters
    "BOARDROOM",
    "Board\ufe0froom",  # variation selector
    "Board\u00adroom",  # soft hyphen
    "  Boardroom\u2060 ",  # word joiner and spaces
]


@pytest.mark.parametrize("lookalike", LOOKALIKES)
def test_a_name_that_only_looks_different_is_a_duplicate(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom, lookalike: str, engine: sa.Engine
) -> None:
    make_room(name="Boardroom")
    response = client.post("/rooms", json={"name": lookalike, "capacity": 4}, headers=admin)
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["errors"][0]["field"] == "name"
    other = make_room(name="Other")
    renamed = client.patch(f"/rooms/{other['id']}", json={"name": lookalike}, headers=admin)
    assert renamed.status_code == 409
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM rooms")) == 2


@pytest.mark.parametrize("name", ["\u200b", "\u200e\u200f", "\u202a\u202c", "\ufe0f", "\u3164", " \u2060 ", "\u00ad"])
def test_a_name_with_no_visible_character_is_422(client: FlaskClient, admin: dict[str, str], name: str) -> None:
    response = client.post("/rooms", json={"name": name, "capacity": 4}, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": "name", "message": "Must contain a visible character."}]


def test_names_keep_what_was_typed_and_real_differences_count(
    client: FlaskClient, admin: dict[str, str], make_room: MakeRoom
) -> None:
    room = make_room(name="Caf\u00e9 \U0001f469\u200d\U0001f4bb")  # an emoji sequence keeps its joiner
    assert room["name"] == "Caf\u00e9 \U0001f469\u200d\U0001f4bb"
    assert make_room(name="Cafe")["name"] == "Cafe"  # é and e are different letters
    assert make_room(name="Room 2")["name"] == "Room 2"
    assert client.post("/rooms", json={"name": "ROOM\u00a02", "capacity": 4}, headers=admin).status_code == 409


def test_the_key_function() -> None:
    assert name_key("\uff32\uff4f\uff4f\uff4d\u3000\uff11") == name_key("room 1") == "room 1"
    assert name_key("Stra\u00dfe") == name_key("STRASSE")
    assert not has_visible_character("\u200b\u2060\ufe0f ")
    assert has_visible_character("\u2460")  # a circled digit is visible
