from __future__ import annotations

import pytest

from servicekit.problems import flatten_messages
from servicekit.settings import ConfigError, Env, sqlalchemy_url


def test_nested_marshmallow_errors_flatten_to_field_paths() -> None:
    messages = {"name": ["Missing data."], "equipment": {"0": ["Not a string."]}, "_schema": ["Bad body."]}
    assert flatten_messages(messages) == [
        {"field": "name", "message": "Missing data."},
        {"field": "equipment.0", "message": "Not a string."},
        {"field": None, "message": "Bad body."},
    ]


def test_missing_required_setting_fails_fast_with_its_name() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Env({}).text("DATABASE_URL")


@pytest.mark.parametrize("raw", ["abc", "1.5", ""])
def test_malformed_integer_setting_is_refused(raw: str) -> None:
    env = Env({"PORT": raw})
    with pytest.raises(ConfigError):
        env.integer("PORT")


def test_defaults_and_bounds() -> None:
    env = Env({"A": " 5 ", "FLAG": "yes"})
    assert env.integer("A") == 5 and env.integer("B", 7) == 7 and env.flag("FLAG") is True
    with pytest.raises(ConfigError):
        env.integer("A", minimum=10)
    with pytest.raises(ConfigError):
        Env({"FLAG": "maybe"}).flag("FLAG")


def test_postgres_urls_get_the_psycopg2_driver() -> None:
    assert sqlalchemy_url("postgres://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert sqlalchemy_url("postgresql://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert sqlalchemy_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"
