"""The apps alone, in process (bench/profile.py): the reservation app, the same-work ceiling, the minimal app."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from bench import ceiling
from bench.measure import Bench
from bench.table import fmt, table
from devstack.stack import PYTHON, ROOT, child_env


def run(b: Bench) -> dict[str, Any]:
    infra, stack = b.infra, b.infra.require_stack()
    ceiling.prepare_database(infra)
    rooms = ",".join(str(room) for room in b.work.rooms[:100])
    targets = {
        "reservation": {
            **stack.config.service_env("reservation", "web"),
            "BENCH_TOKEN": b.work.users[0].token,
            "BENCH_ROOMS": rooms,
        },
        "same_work": {
            "BENCH_SAME_WORK_DATABASE_URL": infra.server_url(infra.db_name("reservation")),
            "BENCH_USER_ID": str(b.work.users[0].user_id),
            "BENCH_ROOMS": rooms,
        },
        "minimal": {"BENCH_CEILING_DATABASE_URL": infra.server_url(ceiling.CEILING_DB)},
    }
    out: dict[str, Any] = {}
    for target, env in targets.items():
        result_file = infra.base / f"profile-{target}.json"
        with (infra.log_dir / f"profile-{target}.log").open("wb") as log:
            subprocess.run(
                [PYTHON, "-m", "bench.profile", target, str(b.plan.profile_requests)],
                env=child_env({**env, "BENCH_PROFILE_OUT": str(result_file)}),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=600,
            )
        out[target] = json.loads(result_file.read_text())
    return out


def render(p: dict[str, Any], _: dict[str, Any]) -> list[str]:
    rows = []
    for target, calls in p.items():
        for call, r in calls.items():
            shares = ", ".join(f"{part} {share}" for part, share in list(r["cpu_share_by_part"].items())[:4])
            label = f"{target} {call}" + (
                f" ({r['unexpected_statuses']} unexpected statuses!)" if r["unexpected_statuses"] else ""
            )
            rows.append((label, fmt(r["cpu_ms_per_request"]), fmt(r["wall_ms_per_request"]), shares))
    header = ("in process, Flask test client", "cpu ms/req", "wall ms/req", "where the CPU goes (sampled)")
    return table("The apps alone, in process (Flask test client; details in results.json)", header, rows)
