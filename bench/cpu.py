"""Where the CPU went during a measurement: per group of processes (each with its descendants), per request.

On a shared machine this also says how much of it was ours: the whole machine's busy time (from
/proc/stat) next to the sum of our groups and the load generator's own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def processes() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far: user + system, plus that of its children already reaped).

    Reaped children count in their parent (cutime, cstime), so a tree's total never drops when a
    process in it exits: gunicorn recycling a worker, PostgreSQL ending a backend or an autovacuum worker.
    """
    out = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        out[int(entry.name)] = (int(fields[1]), sum(int(v) for v in fields[11:15]) / TICK)
    return out


def _tree_cpu(root: int, table: dict[int, tuple[int, float]]) -> float:
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        if pid in table:
            total += table[pid][1]
        stack.extend(children.get(pid, []))
    return total


def _machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot (every state but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICK


@dataclass
class CpuMeter:
    groups: dict[str, list[int]]  # group name -> root pids (each counted with every descendant)
    seconds: float = 0.0
    used: dict[str, float] = field(default_factory=dict)
    machine_busy_s: float = 0.0
    client_s: float = 0.0

    def _snapshot(self) -> tuple[dict[str, float], float, float]:
        table = processes()
        per_group = {name: sum(_tree_cpu(pid, table) for pid in pids) for name, pids in self.groups.items()}
        return per_group, _machine_busy(), time.process_time()

    @contextmanager
    def measure(self) -> Iterator[CpuMeter]:
        before, machine_before, client_before = self._snapshot()
        started = time.perf_counter()
        yield self
        after, machine_after, client_after = self._snapshot()
        self.seconds = time.perf_counter() - started
        self.used = {name: max(0.0, after[name] - before[name]) for name in self.groups}
        self.machine_busy_s = machine_after - machine_before
        self.client_s = client_after - client_before

    def summary(self, requests: int) -> dict[str, Any]:
        ours = sum(self.used.values()) + self.client_s
        return {
            "cpu_ms_per_request": {
                name: round(used * 1000 / requests, 2) if requests else None for name, used in self.used.items()
            },
            "bench_cores": round(ours / self.seconds, 2) if self.seconds else None,
            "machine_busy_cores": round(self.machine_busy_s / self.seconds, 2) if self.seconds else None,
        }
