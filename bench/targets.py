"""The targets of bench/targets.toml, each met or not met on a run's results.

A metric reads one figure from the parts' results and says how it was measured; it gives None when its part
did not run. In a --quick run every target is still checked, on the smaller data (and so marked).
"""

from __future__ import annotations

import operator
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.table import by_cpu, by_throughput

TARGETS_FILE = Path(__file__).with_name("targets.toml")
Parts = dict[str, Any]
Measured = tuple[float, str] | None  # the figure, and how it is shown
OPERATORS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<=": operator.le, "==": operator.eq}


def creation_ratio(parts: Parts, ceiling: str, by: str, clients: int = 16) -> Measured:
    level = str(clients)
    creation = parts.get("creation", {})
    mine = creation.get("create", {}).get(level)
    theirs = (creation if ceiling == "same_work" else parts.get("ceilings", {})).get(ceiling, {}).get(level)
    if not mine or not theirs:
        return None
    value = by_cpu(mine, theirs) if by == "cpu" else by_throughput(mine, theirs)
    return (value, f"{value:.2f}") if value is not None else None


def creation_p99(parts: Parts, clients: int = 16) -> Measured:
    run = parts.get("creation", {}).get("create", {}).get(str(clients))
    return (run["p99_ms"], f"{run['p99_ms']:.1f} ms (p50 {run['p50_ms']:.1f})") if run else None


def read_by_cpu(parts: Parts, read: str, clients: int = 16) -> Measured:
    run = parts.get("reads", {}).get(read, {}).get(str(clients))
    minimal = parts.get("ceilings", {}).get("minimal_flask", {}).get(str(clients))
    value = by_cpu(run, minimal) if run and minimal else None
    return (value, f"{value:.2f}") if value is not None else None


def _largest(parts: Parts) -> tuple[str, dict[str, Any]] | None:
    stages = parts.get("growth", {}).get("stages")
    return (list(stages)[-1], stages[list(stages)[-1]]) if stages else None


def search_p99_largest(parts: Parts) -> Measured:
    largest = _largest(parts)
    if largest is None:
        return None
    size, stage = largest
    rooms = parts["growth"].get("rooms", 0)
    return stage["search"]["p99_ms"], f"{stage['search']['p99_ms']:.1f} ms at {rooms:,} x {int(size):,}"


def worst_p50_growth(parts: Parts) -> Measured:
    factors = parts.get("growth", {}).get("growth_factor")
    if not factors:
        return None
    worst, kind = max((f["p50_ms"] or 0.0, kind) for kind, f in factors.items())
    sizes = list(parts["growth"]["stages"])
    return worst, f"x{worst:.2f} ({kind}, {int(sizes[0]):,} -> {int(sizes[-1]):,})"


def worker_peak_mb(parts: Parts) -> Measured:
    memory = parts.get("memory")
    return (memory["max_worker_peak_mb"], f"{memory['max_worker_peak_mb']:.0f} MB") if memory else None


def soak_errors(parts: Parts) -> Measured:
    soak = parts.get("soak")
    if not soak:
        return None
    errors = soak["load"]["errors"] + soak["log_errors"]["count"]
    return errors, f"{errors} in {soak['seconds']:.0f} s ({soak['load']['requests']:,} requests)"


def soak_memory_growth(parts: Parts) -> Measured:
    soak = parts.get("soak")
    return (soak["max_memory_growth_pct"], f"{soak['max_memory_growth_pct']:.1f}%") if soak else None


def propagation_p99(parts: Parts) -> Measured:
    p = parts.get("propagation")
    return (p["p99_ms"], f"{p['p99_ms']:.0f} ms ({p['measured']} of {p['deletions']})") if p else None


def propagation_measured(parts: Parts) -> Measured:
    p = parts.get("propagation")
    return (p["measured"], str(p["measured"])) if p else None


def _recovery_modes(parts: Parts) -> list[dict[str, Any]]:
    recovery = parts.get("recovery", {})
    return [recovery[mode] for mode in ("static", "dynamic") if mode in recovery]


def recovery_p99(parts: Parts) -> Measured:
    modes = _recovery_modes(parts)
    slowest = max((mode["p99_s"] for mode in modes), default=0.0)
    return (slowest, f"{slowest:.1f} s") if modes else None


def recovery_failures(parts: Parts) -> Measured:
    modes = _recovery_modes(parts)
    failed = sum(parts["recovery"]["kills_per_mode"] - mode["measured"] for mode in modes)
    return (failed, str(failed)) if modes else None


def contention_wrong_rounds(parts: Parts) -> Measured:
    c = parts.get("contention")
    if not c:
        return None
    in_db = {int(k): v for k, v in c["confirmed_rows_per_slot_in_db"].items()}
    wrong = max(c["rounds"] - c["rounds_with_exactly_one_winner"], c["rounds"] - in_db.get(1, 0))
    return wrong, f"{wrong} of {c['rounds']}"


def contention_other_answers(parts: Parts) -> Measured:
    c = parts.get("contention")
    if not c:
        return None
    others = {k: v for k, v in c["statuses"].items() if k not in ("201", "409")}
    return sum(others.values()), str(others or "none")


METRICS: dict[str, Callable[..., Measured]] = {
    "creation_ratio": creation_ratio,
    "creation_p99": creation_p99,
    "read_by_cpu": read_by_cpu,
    "search_p99_largest": search_p99_largest,
    "worst_p50_growth": worst_p50_growth,
    "worker_peak_mb": worker_peak_mb,
    "soak_errors": soak_errors,
    "soak_memory_growth": soak_memory_growth,
    "propagation_p99": propagation_p99,
    "propagation_measured": propagation_measured,
    "recovery_p99": recovery_p99,
    "recovery_failures": recovery_failures,
    "contention_wrong_rounds": contention_wrong_rounds,
    "contention_other_answers": contention_other_answers,
}


def load(path: Path = TARGETS_FILE) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = tomllib.loads(path.read_text())["target"]
    for target in targets:
        if target["metric"] not in METRICS:
            raise ValueError(f"{path.name}: unknown metric {target['metric']!r} in {target['name']!r}")
    return targets


def evaluate(parts: Parts, *, quick: bool) -> list[tuple[str, str, str, str]]:
    """(target, measured, goal, MET / NOT MET / n/a) for each target whose part ran."""
    rows = []
    for target in load():
        arguments = {k: v for k, v in target.items() if k not in ("name", "metric", "goal", "full_only")}
        measured = METRICS[target["metric"]](parts, **arguments)
        if measured is None:
            continue
        value, shown = measured
        op, goal = target["goal"].split()
        if quick and target.get("full_only"):
            result = "n/a"
        else:
            result = "MET" if OPERATORS[op](value, float(goal)) else "NOT MET"
        rows.append((target["name"], shown + (" (--quick data)" if quick else ""), target["goal"], result))
    return rows
