"""`make run`: the whole stack under honcho, with data kept in .dev/ between runs."""

from __future__ import annotations

import os
import shlex
import sys

from devstack.stack import ROLES, ROOT, StackConfig, oidc_provider_command

BANNER = """
Meeting Room Reservation System — development stack
  gateway              http://localhost:{gateway}   (API docs: http://localhost:{gateway}/docs)
  user-service         http://127.0.0.1:{user}   (/healthz /readyz /openapi.json /docs)
  room-service         http://127.0.0.1:{room}
  reservation-service  http://127.0.0.1:{reservation}
  relays, consumer,    /healthz and /metrics on ports {health_ports}
  scheduler
  postgresql           {postgres}
  kafka                {kafka}
{signin}
Get a token from a second shell:  make token EMAIL=admin@example.com ROLE=admin
Ctrl-C stops everything; data stays in .dev/ for the next run.
"""

SIGNIN_LOCAL = """  sign in              http://localhost:{gateway}/auth/google/login
                       (local test provider at {oidc}: type admin@example.com, alice@example.com
                       or bob@example.com; set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET for Google)"""


def procfile(config: StackConfig) -> str:
    python = sys.executable
    lines = []
    if config.private_postgres:
        lines.append(f"postgres: scripts/postgres.sh run {config.dev_dir / 'pgdata'} {config.pg_port}")
    if config.private_kafka:
        lines.append(
            f"kafka: scripts/kafka.sh run {config.dev_dir / 'kafka'} {config.kafka_port} {config.kafka_controller_port}"
        )
    if config.local_provider:
        lines.append(f"oidc: {shlex.join(oidc_provider_command(config.oidc_port))}")
    for service, roles in ROLES.items():
        for role in roles:
            lines.append(f"{service}-{role}: {python} -m devstack.launch {service} {role}")
    lines.append(f"gateway: {python} -m devstack.launch gateway")
    return "\n".join(lines) + "\n"


def main() -> int:
    config = StackConfig.from_env()
    config.dev_dir.mkdir(exist_ok=True)
    config.signing_key()
    path = config.dev_dir / "Procfile"
    path.write_text(procfile(config))
    health = sorted(config.health_port(s, r) for s, roles in ROLES.items() for r in roles if r != "web")
    print(
        BANNER.format(
            gateway=config.gateway_port,
            health_ports=", ".join(map(str, health)),
            postgres=f"private, 127.0.0.1:{config.pg_port} (.dev/pgdata)" if config.private_postgres else "external",
            kafka=config.kafka(),
            signin=SIGNIN_LOCAL.format(gateway=config.gateway_port, oidc=config.oidc_url)
            if config.local_provider
            else f"  sign in (Google)     http://localhost:{config.gateway_port}/auth/google/login",
            **config.web_ports,
        ),
        flush=True,
    )
    honcho = os.path.join(os.path.dirname(sys.executable), "honcho")
    os.chdir(ROOT)
    os.execv(honcho, [honcho, "start", "-f", str(path), "-d", str(ROOT)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
