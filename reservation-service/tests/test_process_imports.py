"""Each process of the service loads only what it needs; its tables must still form a complete schema (a
consumer that cannot resolve a foreign key fails on its first event, long after it started)."""

from __future__ import annotations

import subprocess
import sys

import pytest

ENTRY_POINTS = {
    "consumer": "from reservation_service.replica.handlers import HANDLERS",
    "scheduler": "from reservation_service.checkin.scheduler import run_scheduler",
}


@pytest.mark.parametrize("process", list(ENTRY_POINTS))
def test_a_process_s_tables_resolve_on_their_own(process: str) -> None:
    code = (
        f"{ENTRY_POINTS[process]}\n"
        "import sqlalchemy as sa\n"
        "from sqlalchemy.orm import configure_mappers\n"
        "from reservation_service.reservations.models import Reservation\n"
        "configure_mappers()\n"
        "from sqlalchemy.dialects import postgresql\n"
        "sa.schema.CreateTable(Reservation.__table__).compile(dialect=postgresql.dialect())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
