"""`make bench`: bring the stack up on ports of its own, measure, print a table, write bench/results.json.

    .venv/bin/python -m bench.run [--quick] [--soak-seconds N] [--web-concurrency N] [--parts a,b,...]

Everything runs against a PostgreSQL (durability on) and a Kafka broker started for this run only,
and is torn down at the end. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

if __package__ in (None, ""):  # run as a script: `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import phases, recovery, report
from bench.dataset import SlotAllocator, create_rooms
from bench.infra import Infra
from bench.workload import Workload
from devstack.stack import ROOT

RESULTS = ROOT / "bench" / "results.json"
PARTS = (
    "ceilings",
    "growth",
    "creation",
    "reads",
    "contention",
    "propagation",
    "relay",
    "recovery",
    "profile",
    "soak",
    "memory",
    "whatif",
)
BOOKERS = 4


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every part, briefly and on less data (development)")
    parser.add_argument("--soak-seconds", type=float, default=None, help="soak length (default 300; --quick: 30)")
    parser.add_argument("--web-concurrency", type=int, default=2, help="gunicorn workers per service (make run: 2)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--keep-data", action="store_true", help="keep .dev/bench/pgdata and kafka afterwards")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the results (JSON)")
    args = parser.parse_args(argv)
    unknown = set(args.parts.split(",")) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    return args


def machine(web_concurrency: int, infra: Infra | None = None) -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1e6, 1),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "web_concurrency": web_concurrency,
        "load_start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "postgres": "PostgreSQL",
    }
    if infra is not None:
        info["postgres"] = str(infra.scalar("user", "SELECT split_part(version(), ' on ', 1)"))
    return info


def _stop_on_sigterm() -> None:
    def handler(signum: int, _: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def prepare(infra: Infra, plan: phases.Plan, setup: dict[str, Any]) -> Workload:
    log("starting PostgreSQL (durable) and Kafka on ports of their own")
    infra.start_servers()
    log(f"PostgreSQL on {infra.pg_port}, Kafka on {infra.kafka_port}; starting the stack")
    stack = infra.start_stack()
    setup.update(phases.worker_boot(infra))
    log(f"stack up: gateway {stack.gateway}; users and {plan.rooms} rooms through the gateway")
    specs = [("admin@example.com", "admin"), ("reader@example.com", "employee")]
    specs += [(f"booker{i}@example.com", "employee") for i in range(BOOKERS)]
    users = infra.users(specs)
    admin, reader, bookers = users[0], users[1], users[2:]
    started = time.perf_counter()
    rooms = create_rooms(infra, admin, plan.rooms, "Bench Room")
    setup["rooms_created_and_replicated_s"] = round(time.perf_counter() - started, 1)
    log(f"{len(rooms)} rooms created and replicated in {setup['rooms_created_and_replicated_s']} s")
    return Workload(bookers, reader, admin, rooms, SlotAllocator(rooms, first_day=60))


def run_parts(infra: Infra, plan: phases.Plan, work: Workload, wanted: list[str]) -> dict[str, Any]:
    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "ceilings": lambda: phases.ceilings(infra, plan, work),
        "growth": lambda: phases.growth(infra, plan, work),
        "creation": lambda: phases.creation(infra, plan, work),
        "reads": lambda: phases.reads(infra, plan, work),
        "contention": lambda: phases.contention(infra, plan, work),
        "propagation": lambda: phases.propagation(infra, plan, work),
        "relay": lambda: phases.relay_throughput(infra, plan),
        "recovery": lambda: recovery.recovery(infra, plan, work),
        "profile": lambda: phases.profile(infra, plan, work),
        "soak": lambda: phases.soak(infra, plan, work),
        "memory": lambda: phases.memory(infra, sampler),
        "whatif": lambda: phases.whatif(infra, work),
    }
    # Memory of every process during the whole run: gunicorn recycles its workers, so peaks are caught as they go.
    sampler = phases.MemorySampler(lambda: phases.named_pids(infra), every_s=2)
    sampler.start()
    parts: dict[str, Any] = {}
    try:
        for name in PARTS:
            if name in wanted:
                log(f"{name} ...")
                started = time.perf_counter()
                parts[name] = steps[name]()
                log(f"{name} done in {time.perf_counter() - started:.0f} s")
    finally:
        sampler.stop()
    return parts


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.pop("PG_FAST", None)  # never for the benchmark: durability stays on
    _stop_on_sigterm()
    plan = phases.Plan.make(args.quick, args.soak_seconds)
    started_at, started = datetime.now(UTC), time.perf_counter()
    info = machine(args.web_concurrency)
    infra = Infra(web_concurrency=args.web_concurrency)
    failed: BaseException | None = None
    parts: dict[str, Any] = {}
    setup: dict[str, Any] = {}
    try:
        work = prepare(infra, plan, setup)
        info.update({k: v for k, v in machine(args.web_concurrency, infra).items() if k == "postgres"})
        parts = run_parts(infra, plan, work, args.parts.split(","))
    except (Exception, KeyboardInterrupt) as error:
        failed = error
        log(f"stopped by {type(error).__name__}: {error}")
        traceback.print_exc()
    finally:
        log("tearing everything down")
        infra.close(keep_data=args.keep_data)
    info["load_end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    results: dict[str, Any] = {
        "mode": "quick" if plan.quick else "full",
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - started, 1),
        "machine": info,
        "plan": plan.__dict__,
        "complete": failed is None,
        "setup": setup,
        "parts": parts,
    }
    results["targets"] = report.targets(parts, quick=plan.quick)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(report.render(results))
    print(f"\nresults: {args.out}; logs: {infra.log_dir}")
    if failed is not None:
        print(f"bench: INCOMPLETE — {type(failed).__name__}: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
