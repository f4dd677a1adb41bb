"""One stack process for the process runner: `python -m devstack.launch SERVICE ROLE` or `... gateway`.

A service process waits for its database, creates it if missing, applies migrations (serialized
by an advisory lock, so every launcher may do it), then replaces itself with the service's command.
"""

from __future__ import annotations

import os
import subprocess
import sys

from devstack.gateway import render_gateway_config
from devstack.stack import ROLES, ROOT, StackConfig, child_env, service_command
from servicekit.dbadmin import ensure_database, wait_for_server


def launch_service(config: StackConfig, service: str, role: str) -> None:
    env = child_env(config.service_env(service, role))
    url = config.database_url(service)
    wait_for_server(url)
    ensure_database(url)
    subprocess.run(
        service_command(service, "migrate"), env=child_env(config.service_env(service, "migrate")), check=True
    )
    command = service_command(service, role)
    os.execve(command[0], command, env)


def launch_gateway(config: StackConfig) -> None:
    conf = render_gateway_config(config)
    script = str(ROOT / "scripts" / "gateway.sh")
    os.execv(script, [script, "run", str(conf), config.gateway_values()["RUN_DIR"]])


def main(argv: list[str]) -> int:
    config = StackConfig.from_env()
    if argv == ["gateway"]:
        launch_gateway(config)
    elif len(argv) == 2 and argv[0] in ROLES and argv[1] in ROLES[argv[0]]:
        launch_service(config, argv[0], argv[1])
    else:
        print("usage: python -m devstack.launch SERVICE ROLE | gateway", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
