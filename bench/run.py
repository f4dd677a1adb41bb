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
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import psutil

from bench import report, targets
from bench.dataset import SlotAllocator, create_rooms
from bench.infra import Infra
from bench.measure import Bench
from bench.parts import PARTS
from bench.parts.soak import worker_boot
from bench.plan import Plan
from bench.processes import MemorySampler
from bench.workload import Workload
from devstack.stack import ROOT

RESULTS = ROOT / "bench" / "results.json"
BOOKERS = 4


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.run", description=(__doc__ or "").split("\n\n")[0])
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


def _load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine(web_concurrency: int) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    return {
        "cpu": next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), platform.processor()),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "web_concurrency": web_concurrency,
        "load_start": _load_average(),
        "postgres": "PostgreSQL",
    }


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def prepare(infra: Infra, plan: Plan, setup: dict[str, Any]) -> Workload:
    log("starting PostgreSQL (durable) and Kafka on ports of their own")
    infra.start_servers()
    log(f"PostgreSQL on {infra.pg_port}, Kafka on {infra.kafka_port}; starting the stack")
    stack = infra.start_stack()
    setup.update(worker_boot(infra))
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


def run_parts(infra: Infra, plan: Plan, work: Workload, wanted: list[str], results: dict[str, Any]) -> None:
    """Each wanted part in turn, its figures into results["parts"]; a part that fails is noted and the next
    one runs (the stack is the same: a failure in one part rarely says anything about the others)."""
    # Memory of every process during the whole run: gunicorn recycles its workers, so peaks are caught as they go.
    sampler = MemorySampler(infra.named_pids, every_s=2)
    sampler.start()
    bench = Bench(infra, plan, work, sampler)
    try:
        for name, (run, _) in PARTS.items():
            if name in wanted:
                log(f"{name} ...")
                started = time.perf_counter()
                try:
                    results["parts"][name] = run(bench)
                except Exception as error:
                    log(f"{name} FAILED: {type(error).__name__}: {error}")
                    traceback.print_exc()
                    results["failed_parts"][name] = f"{type(error).__name__}: {error}"
                    continue
                log(f"{name} done in {time.perf_counter() - started:.0f} s")
    finally:
        sampler.stop()


def _stop_on_sigterm() -> None:
    def handler(signum: int, _: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def measure(args: argparse.Namespace, plan: Plan, results: dict[str, Any]) -> BaseException | None:
    """Start, measure, tear down; the figures go into `results`, whatever stopped the run is returned."""
    infra = Infra(web_concurrency=args.web_concurrency)
    results["logs"] = str(infra.log_dir)
    try:
        work = prepare(infra, plan, results["setup"])
        results["machine"]["postgres"] = str(infra.scalar("user", "SELECT split_part(version(), ' on ', 1)"))
        run_parts(infra, plan, work, args.parts.split(","), results)
    except (Exception, KeyboardInterrupt) as error:
        log(f"stopped by {type(error).__name__}: {error}")
        traceback.print_exc()
        return error
    finally:
        log("tearing everything down")
        infra.close(keep_data=args.keep_data)
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.pop("PG_FAST", None)  # never for the benchmark: durability stays on
    _stop_on_sigterm()
    plan = Plan.make(args.quick, args.soak_seconds)
    started_at, started = datetime.now(UTC), time.perf_counter()
    results: dict[str, Any] = {
        "mode": "quick" if plan.quick else "full",
        "started_at": started_at.isoformat(timespec="seconds"),
        "machine": machine(args.web_concurrency),
        "plan": plan.__dict__,
        "setup": {},
        "parts": {},
        "failed_parts": {},
    }
    failed = measure(args, plan, results)
    results["machine"]["load_end"] = _load_average()
    results["duration_s"] = round(time.perf_counter() - started, 1)
    results["complete"] = failed is None and not results["failed_parts"]
    results["targets"] = targets.evaluate(results["parts"], quick=plan.quick)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(report.render(results))
    print(f"\nresults: {args.out}; logs: {results['logs']}")
    if failed is not None:
        print(f"bench: INCOMPLETE — {type(failed).__name__}: {failed}", file=sys.stderr)
    for name, error in results["failed_parts"].items():
        print(f"bench: part {name} failed — {error}", file=sys.stderr)
    return 0 if results["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
