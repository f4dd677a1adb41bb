"""Concurrent changes to one room serialize on its row lock: versions follow commit order, with no gaps."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask

MakeRoom = Callable[..., dict[str, Any]]
ReadOutbox = Callable[..., list[dict[str, Any]]]
WRITERS = 8  # within the app's connection pool (5 + 5 overflow), so every writer holds a connection at once


def run_together(app: Flask, requests: list[tuple[str, str, Any]], headers: dict[str, str]) -> list[int]:
    """Send each (method, path, body) from its own thread and client, released together; their status codes."""
    barrier = threading.Barrier(len(requests))

    def send(request: tuple[str, str, Any]) -> int:
        method, path, body = request
        client = app.test_client()
        barrier.wait()
        return int(getattr(client, method)(path, json=body, headers=headers).status_code)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def test_concurrent_updates_get_consecutive_versions_in_commit_order(
    app: Flask, admin: dict[str, str], make_room: MakeRoom, outbox: ReadOutbox
) -> None:
    room = make_room(capacity=1)
    path = f"/rooms/{room['id']}"
    requests = [("patch" if n % 2 else "put", path, {"capacity": 100 + n}) for n in range(WRITERS)]
    assert run_together(app, requests, admin) == [200] * WRITERS
    events = outbox("room_updated")
    # Outbox ids are taken inside the locked section, so their order is the commit order.
    assert [event["version"] for event in events] == list(range(2, WRITERS + 2))
    assert sorted(event["data"]["capacity"] for event in events) == [100 + n for n in range(WRITERS)]
    final = app.test_client().get(path, headers=admin).get_json()
    assert final == events[-1]["data"]


def test_a_delete_racing_updates_comes_last_and_the_rest_see_404(
    app: Flask, admin: dict[str, str], make_room: MakeRoom, outbox: ReadOutbox
) -> None:
    room = make_room(capacity=1)
    path = f"/rooms/{room['id']}"
    requests: list[tuple[str, str, Any]] = [("patch", path, {"capacity": 50 + n}) for n in range(WRITERS - 1)]
    requests.insert(WRITERS // 2, ("delete", path, None))
    statuses = run_together(app, requests, admin)
    assert statuses[WRITERS // 2] == 204
    updated = [status for status in statuses if status != 204]
    assert set(updated) <= {200, 404}
    events = [event for event in outbox() if event["aggregate_id"] == room["id"]]
    assert [event["version"] for event in events] == list(range(1, len(events) + 1))
    assert [event["event_type"] for event in events] == (
        ["room_created"] + ["room_updated"] * updated.count(200) + ["room_deleted"]
    )
