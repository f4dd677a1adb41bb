"""The benchmark's parts, in the order they run: each measures (plain data for results.json) and renders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.measure import Bench
from bench.parts import ceilings, events, growth, load, profile, recovery, soak

Run = Callable[[Bench], dict[str, Any]]
Render = Callable[[dict[str, Any], dict[str, Any]], list[str]]  # (this part's results, every part's) -> lines

PARTS: dict[str, tuple[Run, Render]] = {
    "ceilings": (ceilings.run, ceilings.render),
    "growth": (growth.run, growth.render),
    "creation": (load.run_creation, load.render_creation),
    "reads": (load.run_reads, load.render_reads),
    "contention": (events.run_contention, events.render_contention),
    "propagation": (events.run_propagation, events.render_propagation),
    "relay": (events.run_relay, events.render_relay),
    "recovery": (recovery.run, recovery.render),
    "profile": (profile.run, profile.render),
    "soak": (soak.run, soak.render),
    "memory": (soak.run_memory, soak.render_memory),
    "whatif": (growth.run_whatif, growth.render_whatif),
}
# The table shows the headline first: the ceilings, then what is measured against them.
RENDER_ORDER = (
    "ceilings",
    "creation",
    "reads",
    "growth",
    "contention",
    "propagation",
    "relay",
    "recovery",
    "profile",
    "soak",
    "memory",
    "whatif",
)
