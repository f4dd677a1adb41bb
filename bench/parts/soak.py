"""The soak (the mixed workload for minutes: errors anywhere, memory growth), memory per gunicorn worker over the
run, and what a gunicorn worker's start costs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from bench import processes
from bench.infra import Infra
from bench.loadgen import run_load
from bench.measure import Bench
from bench.processes import CpuMeter, MemorySampler
from bench.table import fmt, table


def run(b: Bench) -> dict[str, Any]:
    """The mixed workload for `soak_s`: no errors (client side or in any log), memory growing <= 10%.

    Memory is compared per group: the mean resident size of a web service's workers (gunicorn recycles
    them after GUNICORN_MAX_REQUESTS, so no single worker lives through a long soak) and each relay and
    consumer process, averaged over a tenth of the soak just after the warm-up and over its last tenth.
    """
    infra, plan = b.infra, b.plan
    offsets = {path: path.stat().st_size for path in infra.log_dir.glob("*.log")}
    sampler = MemorySampler(infra.named_pids, every_s=max(1.0, plan.soak_s / 100))
    sampler.start()
    meter = CpuMeter(infra.cpu_groups())
    try:
        with meter.measure():
            gateway = infra.require_stack().gateway
            result = run_load(gateway, b.work.mixed_factory(), clients=plan.soak_clients, seconds=plan.soak_s)
    finally:
        sampler.stop()
    end = sampler.samples[-1][0]
    window = max(plan.soak_s * 0.1, 2 * sampler.every_s)
    baseline_at = min(30.0, plan.soak_s * 0.2)  # after the warm-up: imports, pools and caches settle
    baseline, final = sampler.by_group(baseline_at, baseline_at + window), sampler.by_group(end - window, end)
    growth = {
        name: round((final[name] - baseline[name]) / baseline[name] * 100, 1) for name in final if baseline.get(name)
    }
    workers = {each.name for _, taken in sampler.samples for each in taken if "/worker-" in each.name}
    return {
        "seconds": plan.soak_s,
        "clients": plan.soak_clients,
        "load": {**result.summary(), **meter.summary(result.all_requests)},
        "log_errors": _log_errors(offsets),
        "memory_growth_pct": dict(sorted(growth.items())),
        "max_memory_growth_pct": max(growth.values(), default=0.0),
        "memory_mb_baseline": {name: round(rss / 1e6, 1) for name, rss in sorted(baseline.items())},
        "memory_mb_final": {name: round(rss / 1e6, 1) for name, rss in sorted(final.items())},
        "gunicorn_workers_seen": len(workers),
    }


def _log_errors(offsets: dict[Path, int]) -> dict[str, Any]:
    """ERROR/CRITICAL lines written by any stack process, and 5xx in the gateway's access log, since `offsets`."""
    errors: Counter[str] = Counter()
    examples: list[str] = []
    for path, offset in offsets.items():
        with path.open("rb") as log:
            log.seek(offset)
            for raw in log:
                line = raw.decode("utf-8", "replace")
                if _is_error(line):
                    errors[path.stem] += 1
                    if len(examples) < 5:
                        examples.append(f"{path.stem}: {line.strip()[:300]}")
    return {"count": sum(errors.values()), "by_process": dict(errors), "examples": examples}


def _is_error(line: str) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    if not isinstance(record, dict):
        return False
    status = record.get("status")
    return record.get("level") in ("ERROR", "CRITICAL", "error") or (isinstance(status, int) and status >= 500)


def run_memory(b: Bench) -> dict[str, Any]:
    """Peak resident memory (VmHWM) of every gunicorn worker seen during the run (sampled every few
    seconds: workers are recycled), and of the workers alive at the end."""
    b.sampler.take()
    peaks = b.sampler.peaks
    per_service: dict[str, list[int]] = {}
    for name, peak in peaks.items():
        if "/worker-" in name:
            per_service.setdefault(name.split("/")[0], []).append(peak)
    alive = [s for s in processes.sample(b.infra.named_pids()) if "/worker-" in s.name]
    return {
        "max_worker_peak_mb": round(max((max(p) for p in per_service.values()), default=0) / 1e6, 1),
        "per_service": {
            service: {"workers_seen": len(values), "max_peak_mb": round(max(values) / 1e6, 1)}
            for service, values in sorted(per_service.items())
        },
        "alive_at_end": {s.name: {"peak_mb": round(s.peak / 1e6, 1), "rss_mb": round(s.rss / 1e6, 1)} for s in alive},
        "other_processes_peak_mb": {
            name: round(peak / 1e6, 1) for name, peak in sorted(peaks.items()) if "/worker-" not in name
        },
    }


def worker_boot(infra: Infra) -> dict[str, Any]:
    """CPU a gunicorn worker spends starting (imports, app creation) before its first request, and what that
    costs per request when workers are recycled after GUNICORN_MAX_REQUESTS (plus jitter) requests."""
    import servicekit.gunicorn_conf as gunicorn_conf  # reads the same environment the services get

    lifetime = gunicorn_conf.max_requests + gunicorn_conf.max_requests_jitter / 2
    table_ = processes.cpu_table()
    boot = {
        name: round(max((table_[w][1] for w in processes.children(pid) if w in table_), default=0.0), 2)
        for name, pid in infra.named_pids().items()
        if name.endswith("-web")
    }
    return {
        "worker_boot_cpu_s": boot,
        "gunicorn_max_requests": gunicorn_conf.max_requests,
        "gunicorn_max_requests_jitter": gunicorn_conf.max_requests_jitter,
        "amortized_cpu_ms_per_request": {
            name: round(cpu * 1000 / lifetime, 2) if lifetime else 0.0 for name, cpu in boot.items()
        },
    }


def render(s: dict[str, Any], _: dict[str, Any]) -> list[str]:
    load = s["load"]
    grown = sorted(s["memory_growth_pct"].items(), key=lambda kv: -kv[1])[:1]
    row = (
        f"{s['seconds']:.0f} s, {s['clients']} clients, mixed",
        fmt(load["requests"]),
        fmt(load["throughput_rps"]),
        f"{load['p50_ms']:.1f} / {load['p99_ms']:.1f}",
        str(load["errors"]),
        str(s["log_errors"]["count"]),
        f"{s['max_memory_growth_pct']:.1f}%",
        ", ".join(name for name, _ in grown),
        str(s.get("gunicorn_workers_seen", "-")),
    )
    header = (
        "",
        "requests",
        "req/s",
        "p50 / p99 ms",
        "client errors",
        "log errors",
        "max growth",
        "in",
        "workers seen",
    )
    return table("Soak (create / own list / a day's availability / free-room search, in turn)", header, [row])


def render_memory(m: dict[str, Any], _: dict[str, Any]) -> list[str]:
    rows = [(name, str(v["workers_seen"]), fmt(v["max_peak_mb"])) for name, v in m["per_service"].items()]
    title = "Peak memory per gunicorn worker over the run (VmHWM, sampled every 2 s; MB = 10^6 bytes)"
    return table(title, ("service", "workers seen", "max peak MB"), rows)
