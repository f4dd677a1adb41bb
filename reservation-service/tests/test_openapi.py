"""The OpenAPI document describes every route, parameter and error response the tests exercise."""

from __future__ import annotations

from flask.testing import FlaskClient

EXPECTED = {
    ("/reservations", "get"): {"200", "401", "403", "422"},
    ("/reservations", "post"): {"201", "401", "409", "422"},
    ("/reservations/{reservation_id}", "get"): {"200", "401", "404"},
    ("/reservations/{reservation_id}", "put"): {"200", "401", "404", "409", "422"},
    ("/reservations/{reservation_id}", "patch"): {"200", "401", "404", "409", "422"},
    ("/reservations/{reservation_id}", "delete"): {"204", "401", "404", "409"},
    ("/availability", "get"): {"200", "401", "404", "422"},
    ("/availability/rooms", "get"): {"200", "401", "422"},
    ("/reservation-series", "post"): {"201", "401", "409", "422"},
    ("/reservations/{reservation_id}/check-in", "post"): {"200", "401", "404", "409"},
    ("/calendar/feed", "get"): {"200", "401"},
    ("/calendar/feed/reset", "post"): {"200", "401"},
    ("/calendar/feeds/{secret}.ics", "get"): {"200", "404"},
    ("/calendar/feeds/{secret}/rooms/{room_id}.ics", "get"): {"200", "404"},
    ("/calendar/reservations/{reservation_id}.ics", "get"): {"200", "401", "404"},
    ("/reservation-series/{series_id}", "get"): {"200", "401", "404"},
    ("/reservation-series/{series_id}", "patch"): {"200", "401", "404", "422"},
    ("/reservation-series/{series_id}", "delete"): {"204", "401", "404"},
}
PARAMETERS = {
    ("/reservations", "get"): {"page", "per_page", "room_id", "user_id", "status", "from", "to"},
    ("/availability", "get"): {"room_id", "date"},
    ("/availability/rooms", "get"): {"page", "per_page", "start", "end", "min_capacity", "equipment"},
    ("/reservation-series/{series_id}", "delete"): {"from"},
}


def test_every_route_with_its_responses_and_parameters(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    documented = {
        (path, method): set(operation["responses"])
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method != "parameters"
    }
    assert set(documented) == set(EXPECTED)
    for key, codes in EXPECTED.items():
        assert codes <= documented[key], key
    for (path, method), names in PARAMETERS.items():
        assert {p["name"] for p in spec["paths"][path][method]["parameters"]} == names
    for path, method in [("/reservations", "post"), ("/reservations/{reservation_id}", "patch")]:
        assert "requestBody" in spec["paths"][path][method]
