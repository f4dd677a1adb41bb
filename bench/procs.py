"""Process memory from /proc: resident set now (VmRSS) and at its peak (VmHWM), and gunicorn's workers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


def _status(pid: int) -> dict[str, str]:
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _kib(value: str | None) -> int:
    return int(value.split()[0]) if value else 0


def rss_bytes(pid: int) -> int:
    return _kib(_status(pid).get("VmRSS")) * 1024


def peak_rss_bytes(pid: int) -> int:
    return _kib(_status(pid).get("VmHWM")) * 1024


def children(pid: int) -> list[int]:
    """Direct children of `pid` (gunicorn's workers are the master's children)."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: the parent pid is the 2nd field after it.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


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
            status = _status(each)
            if status:
                out.append(Sample(label, each, _kib(status.get("VmRSS")) * 1024, _kib(status.get("VmHWM")) * 1024))
    return out
