"""ServiceFlask asks "is it a coroutine?" once per function registered once, and as Flask does otherwise."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import flask.app
import pytest
from flask.views import MethodView

from servicekit.web import ServiceFlask


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times Flask asked about each function, by name."""
    counts: Counter[str] = Counter()
    original = flask.app.iscoroutinefunction

    def counting(func: Callable[..., Any]) -> bool:
        counts[getattr(func, "__name__", repr(func))] += 1
        return original(func)

    monkeypatch.setattr(flask.app, "iscoroutinefunction", counting)
    return counts


def test_hooks_and_views_are_asked_about_once(asked: Counter[str]) -> None:
    app = ServiceFlask(__name__)
    seen: list[str] = []

    @app.before_request
    def remember() -> None:
        seen.append("before")

    @app.get("/")
    def index() -> str:
        return "ok"

    client = app.test_client()
    for _ in range(3):
        assert client.get("/").get_data(as_text=True) == "ok"
    assert seen == ["before"] * 3
    assert asked["remember"] == 1 and asked["index"] == 1


def test_a_method_view_is_asked_about_each_time_and_not_remembered(asked: Counter[str]) -> None:
    """Its bound method is a new object each request: remembering it would grow without end."""
    app = ServiceFlask(__name__)

    class Thing(MethodView):
        def get(self) -> str:
            return "thing"

    app.add_url_rule("/thing", view_func=Thing.as_view("thing"))
    client = app.test_client()
    for _ in range(3):
        assert client.get("/thing").get_data(as_text=True) == "thing"
    assert asked["get"] == 3
    assert all(type(func).__name__ == "function" for func in app._sync_forms)


def test_what_is_remembered_is_bounded(asked: Counter[str]) -> None:
    app = ServiceFlask(__name__)
    app.MAX_REMEMBERED = 2

    def make(number: int) -> Callable[[], int]:
        def func() -> int:
            return number

        return func

    functions = [make(number) for number in range(5)]
    assert [app.ensure_sync(func)() for func in functions] == [0, 1, 2, 3, 4]
    assert len(app._sync_forms) == 2


def test_a_coroutine_view_is_refused_as_flask_refuses_it() -> None:
    """No async extra installed: Flask's own answer, not a coroutine returned unawaited."""
    app = ServiceFlask(__name__)

    async def view() -> str:
        return "never"

    with pytest.raises(RuntimeError, match="async"):
        app.ensure_sync(view)
