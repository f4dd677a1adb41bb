"""One virtualenv serves all three services, so their shared pins must agree."""

from __future__ import annotations

import re

from devstack.stack import ROOT, SERVICES

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==(\S+)")


def pins(service: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / f"{service}-service" / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        assert match, f"{service}-service/requirements.txt: {line!r} is not pinned with =="
        found[match.group(1).lower().replace("_", "-")] = match.group(3)
    return found


def test_every_requirement_is_pinned_and_shared_pins_agree() -> None:
    by_service = {service: pins(service) for service in SERVICES}
    names = set().union(*by_service.values())
    disagreements = {
        name: {s: p[name] for s, p in by_service.items() if name in p}
        for name in names
        if len({p[name] for p in by_service.values() if name in p}) > 1
    }
    assert disagreements == {}
