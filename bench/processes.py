"""Processes' CPU and memory, from psutil: CPU per group of process trees, resident memory and its peak.

psutil reads the same kernel counters the bench once parsed from /proc by hand (utime, stime and the reaped
children's cutime, cstime from /proc/PID/stat; the machine's busy time from /proc/stat; RSS from
/proc/PID/statm), so the figures are the same and the parsing is not ours. The one figure psutil does not
give is the peak resident size (VmHWM): that stays a read of /proc/PID/status, since sampling RSS every
few seconds would miss a peak between two samples.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil


def cpu_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds so far: user + system, plus that of its children already reaped).

    Reaped children count in their parent, so a tree's total never drops when a process in it exits:
    gunicorn recycling a worker, PostgreSQL ending a backend or an autovacuum worker.
    """
    table = {}
    for process in psutil.process_iter(["ppid", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is not None:  # None: the process went away (or is not ours to read) meanwhile
            used = times.user + times.system + times.children_user + times.children_system
            table[int(process.pid)] = (int(process.info["ppid"]), float(used))
    return table


def tree_cpu(root: int, table: dict[int, tuple[int, float]]) -> float:
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        total += table[pid][1] if pid in table else 0.0
        pending.extend(children.get(pid, []))
    return total


def machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine since boot (every state but idle and iowait)."""
    t = psutil.cpu_times()  # guest time is already inside user time, as in /proc/stat
    return float(t.user + t.nice + t.system + t.irq + t.softirq + t.steal)


@dataclass
class CpuMeter:
    """CPU used per group of process trees while a block runs, with the machine's and our own."""

    groups: dict[str, list[int]]  # group name -> root pids (each counted with every descendant)
    seconds: float = 0.0
    used: dict[str, float] = field(default_factory=dict)
    machine_busy_s: float = 0.0
    client_s: float = 0.0

    def _snapshot(self) -> tuple[dict[str, float], float, float]:
        table = cpu_table()
        per_group = {name: sum(tree_cpu(pid, table) for pid in pids) for name, pids in self.groups.items()}
        return per_group, machine_busy_s(), time.process_time()

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


def children(pid: int) -> list[int]:
    """Direct children of `pid` (gunicorn's workers are the master's children)."""
    try:
        return sorted(child.pid for child in psutil.Process(pid).children())
    except psutil.Error:
        return []


def peak_rss(pid: int) -> int:
    """The highest resident size the process has had (VmHWM), in bytes; 0 if it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((line for line in text.splitlines() if line.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1]) * 1024


@dataclass(frozen=True)
class Sample:
    name: str
    pid: int
    rss: int
    peak: int


def sample(named_pids: dict[str, int]) -> list[Sample]:
    """Memory of each named process; a web process is reported as its workers (`reservation-web/worker-1234`)."""
    out = []
    for name, pid in named_pids.items():
        pids = {f"{name}/worker-{child}": child for child in children(pid)} if name.endswith("-web") else {name: pid}
        for label, each in pids.items():
            try:
                rss = int(psutil.Process(each).memory_info().rss)
            except psutil.Error:
                continue
            out.append(Sample(label, each, rss, peak_rss(each)))
    return out


class MemorySampler(threading.Thread):
    """Samples the memory of the stack's processes (web processes: each worker) every `every_s` seconds."""

    def __init__(self, pids: Callable[[], dict[str, int]], every_s: float) -> None:
        super().__init__(daemon=True)
        self.pids, self.every_s = pids, every_s
        self.samples: list[tuple[float, list[Sample]]] = []
        self.peaks: dict[str, int] = {}  # each process ever seen -> its highest VmHWM
        self.stopping = threading.Event()
        self.started_at = time.monotonic()

    def take(self) -> None:
        taken = sample(self.pids())
        self.samples.append((time.monotonic() - self.started_at, taken))
        for each in taken:
            self.peaks[each.name] = max(self.peaks.get(each.name, 0), each.peak)

    def run(self) -> None:
        while not self.stopping.is_set():
            self.take()
            self.stopping.wait(self.every_s)

    def stop(self) -> None:
        self.stopping.set()
        self.join()
        self.take()

    def by_group(self, since_s: float, until_s: float) -> dict[str, float]:
        """Mean RSS per group (a web service's workers together, any other process alone) over a time span."""
        values: dict[str, list[float]] = {}
        for at, taken in self.samples:
            if since_s <= at <= until_s:
                per_group: dict[str, list[int]] = {}
                for each in taken:
                    per_group.setdefault(each.name.split("/")[0], []).append(each.rss)
                for group, rss in per_group.items():
                    values.setdefault(group, []).append(sum(rss) / len(rss))
        return {group: sum(v) / len(v) for group, v in values.items()}
