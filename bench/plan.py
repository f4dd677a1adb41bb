"""How long and how big each part is: the full benchmark (`make bench`), or `--quick` for trying it out."""

from __future__ import annotations

from dataclasses import dataclass

FULL = {
    "rooms": 1000,
    "warmup_s": 2.0,
    "ceiling_s": 15.0,
    "creation_s": 15.0,
    "read_s": 8.0,
    "growth_sizes": (10_000, 100_000, 1_000_000),
    "growth_requests": 300,
    "admin_list_requests": 30,
    "contention_rounds": 100,
    "deletions": 200,
    "relay_events": 20_000,
    "recovery_kills": 5,
    "profile_requests": 500,
    "soak_s": 300.0,
}
QUICK = {
    "rooms": 300,
    "warmup_s": 0.5,
    "ceiling_s": 3.0,
    "creation_s": 3.0,
    "read_s": 2.0,
    "growth_sizes": (10_000, 30_000, 100_000),
    "growth_requests": 60,
    "admin_list_requests": 10,
    "contention_rounds": 10,
    "deletions": 30,
    "relay_events": 3_000,
    "recovery_kills": 2,
    "profile_requests": 100,
    "soak_s": 30.0,
}


@dataclass(frozen=True)
class Plan:
    quick: bool
    rooms: int
    warmup_s: float
    ceiling_s: float
    creation_s: float
    read_s: float
    growth_sizes: tuple[int, ...]
    growth_requests: int
    admin_list_requests: int
    contention_rounds: int
    deletions: int
    relay_events: int
    recovery_kills: int
    profile_requests: int
    soak_s: float
    levels: tuple[int, ...] = (1, 16, 64)
    contention_clients: int = 64
    soak_clients: int = 16

    @classmethod
    def make(cls, quick: bool, soak_s: float | None = None) -> Plan:
        sizes = {**(QUICK if quick else FULL), **({"soak_s": soak_s} if soak_s is not None else {})}
        return cls(quick=quick, **sizes)  # type: ignore[arg-type]
