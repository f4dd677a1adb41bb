"""The benchmark's data: a room catalogue created through the real event path, and reservations bulk-loaded.

Rooms are POSTed to the gateway (room service → outbox → relay → Kafka → the reservation service's
consumer → its replica), so the replica is exactly what production would hold. Reservations are
COPYed straight into the reservation service's `reservations` table (with every index and the
exclusion constraint in place): one million through the API would take far longer than the whole
benchmark may. Bulk rows have no outbox events (nobody consumes reservation events).

Layout per room, in the order rows are added as the table grows:
- the first FUTURE_PER_ROOM rows are upcoming bookings: distinct one-hour slots on the next five
  days, 08:00-18:00 UTC (so a one-hour window there finds about a fifth of the rooms busy);
- every further row is history: up to three bookings a day going back from yesterday, one in
  twenty cancelled — a table grows mostly with the past.
The reader (the user whose GET /reservations is timed) owns exactly READER_ROWS upcoming rows at every
size; the other rows belong to 10,000 synthetic users.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.infra import Infra, User
from bench.loadgen import Request, run_load

EQUIPMENT = ("projector", "whiteboard", "video", "phone", "tv")
CAPACITIES = (2, 4, 6, 8, 10, 12, 16, 20, 30, 50)
ZONES = ("UTC",) * 8 + ("Europe/Berlin", "America/New_York")
FUTURE_PER_ROOM = 10
FUTURE_DAYS = 5
WORK_HOURS = range(8, 18)
READER_ROWS = 100
SYNTHETIC_USER_BASE = 10_000_000
SYNTHETIC_USERS = 10_000
COPY_COLUMNS = (
    "room_id, user_id, start_time, end_time, occupied_until, purpose, attendees, status, version,"
    " created_at, updated_at, cancelled_at, cancel_reason"
)


def today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def room_body(index: int, prefix: str) -> dict[str, Any]:
    rng = random.Random(index)
    return {
        "name": f"{prefix} {index:05d}",
        "capacity": rng.choice(CAPACITIES),
        "equipment": [tag for tag in EQUIPMENT if rng.random() < 0.5],
        "building": f"Building {index % 10}",
        "floor": str(index % 8),
        "timezone": rng.choice(ZONES),
    }


def create_rooms(infra: Infra, admin: User, count: int, prefix: str) -> list[int]:
    """POST `count` rooms to the gateway and wait until the reservation service's replica has every one."""
    stack = infra.require_stack()
    counter = iter(range(count))

    def next_room(_: int) -> Request:
        return Request.json("POST", "/rooms", room_body(next(counter), prefix), admin.headers, expect=(201,))

    result = run_load(stack.gateway, next_room, clients=8, max_requests=count)
    if result.error_count:
        raise RuntimeError(f"room creation failed: {dict(result.errors)}")
    with infra.cursor(infra.db_name("room")) as cursor:
        cursor.execute("SELECT id FROM rooms WHERE name LIKE %s ORDER BY id", (f"{prefix} %",))
        ids = [int(row[0]) for row in cursor.fetchall()]
    infra.wait_for(
        lambda: infra.scalar("reservation", "SELECT count(*) FROM rooms WHERE id = ANY(%s)", (ids,)) == len(ids),
        f"{len(ids)} rooms replicated to the reservation service",
    )
    return ids


@dataclass
class SlotAllocator:
    """Distinct API booking slots far from the bulk data: room after room, then the next half hour."""

    rooms: list[int]
    first_day: int
    minutes: int = 30
    next_index: int = 0
    base: datetime = field(default_factory=today)

    def next(self) -> tuple[int, str, str]:
        index = self.next_index
        self.next_index += 1
        room = self.rooms[index % len(self.rooms)]
        start = self.base + timedelta(days=self.first_day, minutes=self.minutes * (index // len(self.rooms)))
        return room, start.isoformat(), (start + timedelta(minutes=self.minutes)).isoformat()


def search_windows() -> list[tuple[str, str]]:
    """The one-hour windows of the upcoming block (where about a fifth of the rooms are busy)."""
    windows = []
    for day in range(1, FUTURE_DAYS + 1):
        for hour in WORK_HOURS:
            start = today() + timedelta(days=day, hours=hour)
            windows.append((start.isoformat(), (start + timedelta(hours=1)).isoformat()))
    return windows


class _Rows:
    """A file-like object over generated COPY lines, for psycopg2's copy_expert (which calls read(size))."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.buffer = b""

    def read(self, size: int = -1, /) -> bytes:
        limit = size if size > 0 else 1 << 30
        parts, length = [self.buffer], len(self.buffer)
        for line in self.lines:
            encoded = line.encode()
            parts.append(encoded)
            length += len(encoded)
            if length >= limit:
                break
        data = b"".join(parts)
        self.buffer = data[limit:]
        return data[:limit]

    def readline(self, size: int = -1, /) -> bytes:  # part of the file protocol copy_expert asks for
        return self.read(size)


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S+00")


@dataclass
class BulkLoader:
    """Adds reservations room by room following the layout above; remembers how many each room has."""

    infra: Infra
    rooms: list[int]
    reader_id: int
    loaded: dict[int, int] = field(default_factory=dict)
    base: datetime = field(default_factory=today)

    def _future_slots(self, room: int) -> list[datetime]:
        rng = random.Random(room * 7919)
        slots = [self.base + timedelta(days=d, hours=h) for d in range(1, FUTURE_DAYS + 1) for h in WORK_HOURS]
        return rng.sample(slots, FUTURE_PER_ROOM)

    def _row(self, position: int, room: int, j: int, rng: random.Random) -> str:
        cancelled = False
        if j < FUTURE_PER_ROOM:
            start = self._future_slots(room)[j]
            end = start + timedelta(hours=1)
            created = self.base - timedelta(days=rng.randint(1, 20))
            user = self.reader_id if position < READER_ROWS // FUTURE_PER_ROOM else None
        else:
            k = j - FUTURE_PER_ROOM
            day = self.base - timedelta(days=1 + k // 3)
            start = day + timedelta(hours=8 + 3 * (k % 3) + room % 3)
            end = start + timedelta(minutes=60 if k % 2 == 0 else 30)
            created = start - timedelta(days=3)
            cancelled = k % 20 == 19
            user = None
        user_id = user if user is not None else SYNTHETIC_USER_BASE + rng.randrange(SYNTHETIC_USERS)
        status, version = ("cancelled", 2) if cancelled else ("confirmed", 1)
        cancelled_at = _ts(created + timedelta(days=1)) if cancelled else "\\N"
        reason = "cancelled" if cancelled else "\\N"
        updated = cancelled_at if cancelled else _ts(created)
        return (
            f"{room}\t{user_id}\t{_ts(start)}\t{_ts(end)}\t{_ts(end)}\tBench booking\t{rng.randint(1, 4)}"
            f"\t{status}\t{version}\t{_ts(created)}\t{updated}\t{cancelled_at}\t{reason}\n"
        )

    def _lines(self, per_room: dict[int, int]) -> Iterator[str]:
        rng = random.Random(sum(per_room.values()))
        for position, room in enumerate(self.rooms):
            for j in range(self.loaded.get(room, 0), per_room[room]):
                yield self._row(position, room, j, rng)

    def grow_to(self, total: int) -> dict[str, Any]:
        """COPY rows until the table holds `total` reservations (in one transaction), then VACUUM ANALYZE."""
        existing = int(self.infra.scalar("reservation", "SELECT count(*) FROM reservations"))
        to_add = max(0, total - existing)
        already = sum(self.loaded.values())
        goal = already + to_add
        per_room = {
            room: goal // len(self.rooms) + (1 if i < goal % len(self.rooms) else 0)
            for i, room in enumerate(self.rooms)
        }
        started = time.perf_counter()
        connection = self.infra.connect(self.infra.db_name("reservation"), autocommit=False)
        try:
            with connection.cursor() as cursor:
                sql = f"COPY reservations ({COPY_COLUMNS}) FROM STDIN"
                cursor.copy_expert(sql, _Rows(self._lines(per_room)), size=1 << 16)
            connection.commit()
        finally:
            connection.close()
        copied = time.perf_counter() - started
        self.loaded = per_room
        started = time.perf_counter()
        with self.infra.cursor(self.infra.db_name("reservation")) as cursor:
            cursor.execute("VACUUM (ANALYZE) reservations")
        rows = int(self.infra.scalar("reservation", "SELECT count(*) FROM reservations"))
        return {
            "rows": rows,
            "added": rows - existing,
            "copy_s": round(copied, 1),
            "rows_per_s": round((rows - existing) / copied) if copied > 0 else 0,
            "vacuum_analyze_s": round(time.perf_counter() - started, 1),
        }
