"""The frame every service shares, checked on this one: errors, health, documents."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_unknown_url_is_404_problem(client: FlaskClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert response.get_json()["title"] == "Not Found"


def test_wrong_method_is_405_problem_with_allow(client: FlaskClient, admin: dict[str, str]) -> None:
    response = client.delete("/rooms", headers=admin)
    assert response.status_code == 405
    assert response.content_type == "application/problem+json"
    assert "GET" in response.headers["Allow"]


def test_non_json_body_is_415(client: FlaskClient, admin: dict[str, str]) -> None:
    response = client.post("/rooms", data="name=A", headers={**admin, "Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.content_type == "application/problem+json"


def test_malformed_json_is_400(client: FlaskClient, admin: dict[str, str]) -> None:
    response = client.post("/rooms", data="{not json", headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"


def test_json_that_is_not_an_object_is_422(client: FlaskClient, admin: dict[str, str]) -> None:
    response = client.post("/rooms", json=[1, 2], headers=admin)
    assert response.status_code == 422


def test_request_id_is_kept_or_made(client: FlaskClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"]
    assert made and made != "bad id <script>"


def test_health_readiness_and_documents(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/rooms" in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    docs = client.get("/docs").get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_bad_tokens_are_401(client: FlaskClient, keys) -> None:  # type: ignore[no-untyped-def]
    for token in [
        "garbage",
        keys.token(exp=1),
        keys.token(aud="other"),
        keys.token(iss="other"),
        keys.token(role="root"),
    ]:
        response = client.get("/rooms", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_nul_characters_anywhere_are_422(client: FlaskClient, admin: dict[str, str]) -> None:
    assert client.get("/rooms?q=a%00b", headers=admin).status_code == 422
    body = {"name": "Room", "capacity": 3, "equipment": ["projector\x00"]}
    assert client.post("/rooms", json=body, headers=admin).status_code == 422


def test_docs_page_has_a_strict_csp_and_no_inline_script(client: FlaskClient) -> None:
    page = client.get("/docs")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "<script>" not in page.get_data(as_text=True)
    script = client.get("/docs/assets/init.js")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.get_data(as_text=True)


def test_database_sessions_have_a_statement_timeout(app) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from servicekit.db import db

    with app.app_context(), db.engine.connect() as connection:
        assert connection.scalar(sa.text("SHOW statement_timeout")) == "10s"
