"""What every part gets (the stack, the plan, the workload) and the two ways it measures a workload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.infra import Infra
from bench.loadgen import LoadResult, RequestFactory, run_load
from bench.plan import Plan
from bench.processes import CpuMeter, MemorySampler
from bench.workload import Workload


@dataclass
class Bench:
    infra: Infra
    plan: Plan
    work: Workload
    sampler: MemorySampler  # memory of the stack's processes through the whole run


def measured(
    infra: Infra,
    factory: RequestFactory,
    clients: int,
    seconds: float,
    warmup_s: float,
    *,
    gateway: str | None = None,
    groups: dict[str, list[int]] | None = None,
) -> dict[str, Any]:
    """A closed-loop run with its CPU use per request by process group (warm-up included on both sides)."""
    meter = CpuMeter(groups if groups is not None else infra.cpu_groups())
    with meter.measure():
        result = run_load(
            gateway or infra.require_stack().gateway, factory, clients=clients, seconds=seconds, warmup_s=warmup_s
        )
    return {**result.summary(), **meter.summary(result.all_requests)}


def sequential(infra: Infra, factory: RequestFactory, requests: int) -> LoadResult:
    """`requests` sequential requests from one client (latency, not throughput), after a few to warm up."""
    gateway = infra.require_stack().gateway
    run_load(gateway, factory, clients=1, max_requests=min(30, requests))
    return run_load(gateway, factory, clients=1, max_requests=requests)
