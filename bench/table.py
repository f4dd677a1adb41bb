"""Plain-text tables for the report, and the figures every load table shows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Row = tuple[str, ...]

# CPU columns: milliseconds of CPU per request in the app's gunicorn workers, NGINX and PostgreSQL; cores used
# by the load generator, by the whole stack with it ("ours"), and by the whole machine (others' work included).
LOAD_HEADER = ("", "req/s", "p50 ms", "p99 ms", "errors", "app cpu", "nginx cpu", "pg cpu", "client", "ours", "machine")
CPU_GROUPS = ("service", "gateway", "postgres")


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}" if abs(value) < 1000 else f"{value:,.0f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value}{unit}"


def _numeric(cell: str) -> bool:
    return bool(cell) and (cell[0].isdigit() or cell[0] in "-x" or cell in ("MET", "NOT MET", "n/a"))


def table(title: str, header: Row, rows: Iterable[Row]) -> list[str]:
    rows = list(rows)
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    line = "  ".join("-" * w for w in widths)
    out = [f"\n== {title}", "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(), line]
    for row in rows:
        cells = [
            c.rjust(w) if i and _numeric(c) else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    return out


def load_row(label: str, s: dict[str, Any], *extra: str) -> Row:
    cpu = s.get("cpu_ms_per_request", {})
    return (
        label,
        fmt(s["throughput_rps"]),
        fmt(s["p50_ms"]),
        fmt(s["p99_ms"]),
        fmt(s["errors"]),
        *(fmt(cpu.get(group)) for group in CPU_GROUPS),
        f"{s['client_cpu_cores']:.2f}",
        fmt(s.get("bench_cores")),
        fmt(s.get("machine_busy_cores")),
        *extra,
    )


def cpu_per_request(s: dict[str, Any]) -> float:
    """CPU per request in the app, NGINX and PostgreSQL together (ms)."""
    cpu = s.get("cpu_ms_per_request", {})
    return float(sum(cpu.get(group) or 0.0 for group in CPU_GROUPS))


def by_cpu(target: dict[str, Any], ceiling: dict[str, Any]) -> float | None:
    """The ceiling's CPU per request over the target's: the throughput ratio a dedicated machine would give
    when CPU-bound (app + NGINX + PostgreSQL on both sides)."""
    mine, theirs = cpu_per_request(target), cpu_per_request(ceiling)
    return theirs / mine if mine and theirs else None


def by_throughput(target: dict[str, Any], ceiling: dict[str, Any]) -> float | None:
    mine, theirs = target.get("throughput_rps"), ceiling.get("throughput_rps")
    return float(mine) / float(theirs) if mine and theirs else None
