"""PostgreSQL restarted under load: the services recover by themselves, and no acknowledged write is lost."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.harness import Stack, running_stack, system_stack_config
from devstack.stack import ROOT
from servicekit_testing import free_port

POSTGRES = str(ROOT / "scripts" / "postgres.sh")


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    data_dir, port = tmp_path_factory.mktemp("restart-pg") / "data", free_port()
    subprocess.run([POSTGRES, "start", str(data_dir), str(port)], check=True)
    yield data_dir, port
    subprocess.run([POSTGRES, "stop", str(data_dir)], check=True)


@pytest.fixture(scope="module")
def restart_stack(tmp_path_factory: pytest.TempPathFactory, pg: tuple[Path, int]) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("restart-stack")
    config = system_stack_config(log_dir, postgres=f"postgresql://postgres@127.0.0.1:{pg[1]}/postgres")
    with running_stack(config, log_dir, drop_databases=False) as stack:  # the whole server goes afterwards
        yield stack


def test_services_recover_after_a_database_restart_without_losing_writes(
    restart_stack: Stack, pg: tuple[Path, int]
) -> None:
    admin = {"Authorization": f"Bearer {restart_stack.token('admin@example.com', 'admin')}"}
    stop = threading.Event()
    acknowledged: list[int] = []
    statuses: list[int] = []

    def write(worker: int) -> None:
        session, n = requests.Session(), 0
        while not stop.is_set():
            n += 1
            body = {"name": f"Restart {worker}-{n}", "capacity": 4}
            try:
                response = session.post(f"{restart_stack.gateway}/rooms", json=body, headers=admin, timeout=30)
            except requests.RequestException:
                continue  # no answer, so nothing was acknowledged
            statuses.append(response.status_code)
            if response.status_code == 201:
                acknowledged.append(response.json()["id"])

    writers = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for writer in writers:
        writer.start()
    time.sleep(2)
    before = len(acknowledged)
    subprocess.run([POSTGRES, "stop", str(pg[0])], check=True)
    time.sleep(2)
    subprocess.run([POSTGRES, "start", str(pg[0]), str(pg[1])], check=True)
    time.sleep(4)
    after_restart = len(acknowledged)
    time.sleep(3)
    stop.set()
    for writer in writers:
        writer.join(timeout=60)
    assert before > 0 and len(acknowledged) > after_restart  # writes flowed before, and again after
    assert set(statuses) <= {201, 503}, sorted(set(statuses))  # down is 503, never a 500
    for room_id in acknowledged:
        response = requests.get(f"{restart_stack.gateway}/rooms/{room_id}", headers=admin, timeout=10)
        assert response.status_code == 200, room_id
