"""The requests the benchmark sends, built the way a client of the API would."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from bench.dataset import FUTURE_DAYS, SlotAllocator, search_windows, today
from bench.infra import User
from bench.loadgen import Request, send_one

SEARCH_FILTERS = {"min_capacity": "8", "equipment": "projector,whiteboard"}


@dataclass
class Workload:
    users: Sequence[User]  # the bookers: client i books as users[i % len(users)]
    reader: User
    admin: User
    rooms: Sequence[int]
    slots: SlotAllocator

    def create(self, client: int) -> Request:
        room, start, end = self.slots.next()
        body = {"room_id": room, "start_time": start, "end_time": end, "purpose": "Benchmark"}
        user = self.users[client % len(self.users)]
        return Request.json("POST", "/reservations", body, user.headers, expect=(201,), label="create")

    def list_own(self, _: int) -> Request:
        return Request("GET", "/reservations", self.reader.headers, label="list")

    def list_all(self, _: int) -> Request:
        return Request("GET", "/reservations", self.admin.headers, label="list-admin")

    def rooms_page(self, _: int) -> Request:
        return Request("GET", "/rooms", self.reader.headers, label="rooms")

    def availability_factory(self) -> Callable[[int], Request]:
        days = [(today().date().toordinal() + d) for d in range(1, FUTURE_DAYS + 1)]
        pairs = itertools.cycle([(room, day) for day in days for room in self.rooms[:200]])

        def availability(_: int) -> Request:
            room, ordinal = next(pairs)
            query = urlencode({"room_id": room, "date": _date(ordinal)})
            return Request("GET", f"/availability?{query}", self.reader.headers, label="availability")

        return availability

    def search_factory(self) -> Callable[[int], Request]:
        windows = itertools.cycle(search_windows())

        def search(_: int) -> Request:
            start, end = next(windows)
            query = urlencode({"start": start, "end": end, **SEARCH_FILTERS})
            return Request("GET", f"/availability/rooms?{query}", self.reader.headers, label="search")

        return search

    def feed_factory(self, gateway: str) -> Callable[[int], Request]:
        """The reader's calendar feed, as a calendar app polls it (no token: the URL is the credential)."""
        answer = send_one(gateway, Request("GET", "/calendar/feed", self.reader.headers, label="feed-url"))
        path = "/calendar/feeds/" + json.loads(answer.body)["url"].split("/calendar/feeds/", 1)[1]

        def feed(_: int) -> Request:
            return Request("GET", path, {}, label="feed")

        return feed

    def mixed_factory(self) -> Callable[[int], Request]:
        """The soak's mix: a booking, the own list, a day's availability and a free-room search, in turn."""
        availability, search = self.availability_factory(), self.search_factory()
        kinds = [self.create, self.list_own, availability, search]
        counters: dict[int, int] = {}

        def mixed(client: int) -> Request:
            turn = counters.get(client, client)
            counters[client] = turn + 1
            return kinds[turn % len(kinds)](client)

        return mixed


def _date(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()
