"""`make token EMAIL=... ROLE=...`: mint an access token against the `make run` stack."""

from __future__ import annotations

import subprocess
import sys

from devstack.stack import StackConfig, child_env


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[0]:
        print("usage: make token EMAIL=someone@example.com ROLE=admin|employee", file=sys.stderr)
        return 2
    email, role = argv
    env = child_env(StackConfig.from_env().service_env("user", "migrate"))
    command = [sys.executable, "-m", "flask", "--app", "user_service", "users", "token", email, "--role", role]
    return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
