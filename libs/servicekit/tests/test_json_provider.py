"""Responses are encoded by orjson, and read by a client exactly as Flask's encoder would have written them;
dates and times as ISO 8601, as the API writes every instant."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from servicekit.bodies import JSONProvider

SAME_AS_FLASK = [
    {"b": 1, "a": [1, 2.5, None, True, "ü€"]},
    {"id": uuid.UUID(int=5), "amount": Decimal("1.50")},
    {"echoed": 10**30},  # past 64 bits: orjson refuses, Flask's encoder takes over
    {1: "a key that is not a string"},
]


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.json = JSONProvider(app)
    return app


@pytest.mark.parametrize("value", SAME_AS_FLASK)
def test_a_client_reads_what_flasks_encoder_would_have_sent(app: Flask, value: object) -> None:
    with app.app_context():
        assert json.loads(app.json.dumps(value)) == json.loads(DefaultJSONProvider(app).dumps(value))


def test_dates_and_times_are_iso_8601_not_http_dates(app: Flask) -> None:
    value = {"at": datetime(2030, 1, 1, 9, 30, 0, 5, tzinfo=ZoneInfo("Asia/Kolkata")), "day": date(2030, 1, 2)}
    with app.app_context():
        assert json.loads(app.json.dumps(value)) == {"at": "2030-01-01T09:30:00.000005+05:30", "day": "2030-01-02"}


def test_jsonify_goes_through_orjson(app: Flask) -> None:
    with app.app_context():
        body = app.json.response({"b": 1, "a": 2}).get_data(as_text=True)
    assert body == '{"b":1,"a":2}\n'  # keys as built (Flask's encoder would sort them)


def test_a_number_json_cannot_hold_is_null_not_nan(app: Flask) -> None:
    with app.app_context():
        assert json.loads(app.json.dumps({"x": float("nan")})) == {"x": None}
