"""The printed table: the machine, each part's figures, and the targets of bench/targets.toml.

python -m bench.report [bench/results.json]     print the table of a results file again
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench import targets
from bench.parts import PARTS, RENDER_ORDER
from bench.table import table


def render(results: dict[str, Any]) -> str:
    lines = [_machine(results)]
    parts = results.get("parts", {})
    for name in RENDER_ORDER:
        if name in parts:
            lines += PARTS[name][1](parts[name], parts)
    lines += table("Targets", ("target", "measured", "goal", "result"), results.get("targets", []))
    return "\n".join(lines)


def _recycling(setup: dict[str, Any]) -> str:
    boot = setup.get("worker_boot_cpu_s", {})
    if not boot:
        return ""
    costs = ", ".join(
        f"{name} {cpu} s CPU (~{setup['amortized_cpu_ms_per_request'].get(name)} ms per request)"
        for name, cpu in boot.items()
    )
    return (
        f"\ngunicorn workers recycled every {setup.get('gunicorn_max_requests')} (+ up to"
        f" {setup.get('gunicorn_max_requests_jitter')}) requests; a new worker's start costs {costs}"
    )


def _machine(results: dict[str, Any]) -> str:
    m = results["machine"]
    return (
        f"make bench — {results['mode']} run, {results['started_at']}, {results['duration_s']:.0f} s\n"
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, {m['kernel']}; {m['postgres']};"
        f" load average {m['load_start']} at start, {m.get('load_end')} at end\n"
        f"stack: gunicorn {m['web_concurrency']} sync workers per service, NGINX gateway, PostgreSQL with fsync,"
        f" synchronous_commit and full_page_writes on{_recycling(results.get('setup', {}))}"
    )


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else Path(__file__).with_name("results.json"))
    results = json.loads(path.read_text())
    results["targets"] = targets.evaluate(results.get("parts", {}), quick=results.get("mode") == "quick")
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
