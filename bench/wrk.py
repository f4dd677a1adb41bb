"""The check that the Python load generator is not the bottleneck: the same load from wrk (installed from
Debian when missing and we may) against the same minimal app, and both against NGINX alone."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.loadgen import Request, run_load

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def ensure_wrk() -> tuple[str | None, str]:
    """wrk from Debian; installed here when missing and we are root (the only install the benchmark does)."""
    found = shutil.which("wrk")
    if found:
        return found, "present"
    if os.geteuid() != 0:
        return None, "wrk missing and not root: cross-check skipped"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
    done = subprocess.run(install, env=env, capture_output=True, timeout=300, check=False)
    if done.returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=300, check=False)
        subprocess.run(install, env=env, capture_output=True, timeout=300, check=False)
    found = shutil.which("wrk")
    return (found, "installed with apt-get") if found else (None, "apt-get install wrk failed: cross-check skipped")


def _ms(text: str) -> float:
    match = re.match(r"([0-9.]+)(us|ms|s)", text)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0


def wrk(binary: str, url: str, clients: int, seconds: float, work_dir: Path, body: str | None = None) -> dict[str, Any]:
    command = [binary, "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{max(1, round(seconds))}s", "--latency"]
    if body is not None:
        script = work_dir / "post.lua"
        escaped = body.replace("\\", "\\\\").replace("'", "\\'")
        script.write_text(
            f"wrk.method = 'POST'\nwrk.body = '{escaped}'\n"
            "wrk.headers['Content-Type'] = 'application/json'\nwrk.headers['Authorization'] = 'Bearer x'\n"
        )
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    return {
        "clients": clients,
        "throughput_rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": _ms(p50.group(1)) if p50 else 0.0,
        "p99_ms": _ms(p99.group(1)) if p99 else 0.0,
    }


def client_check(gateway: str, body: str, seconds: float, work_dir: Path) -> dict[str, Any]:
    """The Python client against wrk at 16 clients: on the minimal app (alternating, so both see the same
    machine), and on NGINX alone (/healthz), which shows how far the Python client can go at all."""
    binary, how = ensure_wrk()
    check: dict[str, Any] = {"wrk": how}

    def post(_: int) -> Request:
        return Request("POST", "/reservations", {"Content-Type": "application/json"}, body.encode(), expect=(201,))

    python_rps, wrk_rps = [], []
    for _ in range(2):
        python_rps.append(run_load(gateway, post, clients=16, seconds=seconds, warmup_s=0.5).throughput)
        if binary:
            wrk_rps.append(wrk(binary, f"{gateway}/reservations", 16, seconds, work_dir, body=body)["throughput_rps"])
    healthz = run_load(gateway, lambda _: Request("GET", "/healthz"), clients=16, seconds=seconds, warmup_s=0.5)
    check["python_minimal_app_16_rps"] = round(sum(python_rps) / len(python_rps), 1)
    check["python_nginx_healthz_16"] = healthz.summary()
    if binary and sum(wrk_rps):
        check["wrk_minimal_app_16_rps"] = round(sum(wrk_rps) / len(wrk_rps), 1)
        check["wrk_nginx_healthz_16"] = wrk(binary, f"{gateway}/healthz", 16, seconds, work_dir)
        check["python_vs_wrk_minimal_app"] = round(sum(python_rps) / sum(wrk_rps), 3)
    return check
