from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.harness import Stack, running_stack, system_stack_config
from tests.logcheck import problems_in, server_errors_in


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("stack")
    with running_stack(system_stack_config(log_dir), log_dir) as stack:
        yield stack
    # After a whole run against it: every line JSON with our fields, and no credential in any of them.
    problems = problems_in(log_dir) + server_errors_in(log_dir)
    assert not problems, "\n".join(problems[:40])


@pytest.fixture(scope="session")
def admin_token(stack: Stack) -> str:
    return stack.token("admin@example.com", "admin")


@pytest.fixture(scope="session")
def admin(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture(scope="session")
def employee(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token('employee@example.com', 'employee')}"}
