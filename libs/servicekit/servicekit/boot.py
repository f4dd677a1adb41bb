"""The one entrypoint of every service image: `python -m <service> web|relay|consumer|migrate`."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from servicekit.consumer import Handler, run_consumer
from servicekit.logs import configure_logging
from servicekit.migrations import upgrade
from servicekit.relay import run_relay
from servicekit.settings import ConfigError, Env, KafkaSettings, ServiceSettings

USAGE = "usage: python -m {package} {commands}"
Command = Callable[[ServiceSettings, Env], None]


@dataclass(frozen=True)
class ServiceProcesses:
    name: str
    package: str
    migrations_dir: Path
    published_topics: tuple[str, ...]
    consumer_handlers: Callable[[], Mapping[str, Mapping[str, Handler]]] | None = None
    # Processes of one service only (the reservation service's `scheduler`), by command name.
    extra_commands: Mapping[str, Callable[[], Command]] = field(default_factory=dict)


def _fresh_metrics_dir() -> None:
    """gunicorn's workers share metrics through files in this directory; it must start empty."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-")
    for leftover in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        leftover.unlink()


def main(service: ServiceProcesses, argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    commands = ["web", "relay", "migrate"] + (["consumer"] if service.consumer_handlers else [])
    commands += list(service.extra_commands)
    if len(args) != 1 or args[0] not in commands:
        print(USAGE.format(package=service.package, commands="|".join(commands)), file=sys.stderr)
        return 2
    os.environ["SERVICE_NAME"] = service.name
    env = Env()
    try:
        settings = ServiceSettings.from_env(service.name, env)
        configure_logging(service.name, settings.log_level)
        command = args[0]
        if command == "web":
            _fresh_metrics_dir()
            os.execv(
                sys.executable,
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "python:servicekit.gunicorn_conf",
                    f"{service.package}.wsgi:app",
                ],
            )
        elif command == "migrate":
            upgrade(service.migrations_dir, settings.database_url)
        elif command == "relay":
            kafka = KafkaSettings.from_env(env)
            run_relay(settings, kafka, list(service.published_topics), env.integer("HEALTH_PORT", 9000))
        elif command == "consumer" and service.consumer_handlers is not None:
            kafka = KafkaSettings.from_env(env)
            run_consumer(settings, kafka, service.consumer_handlers(), env.integer("HEALTH_PORT", 9001))
        elif command in service.extra_commands:
            service.extra_commands[command]()(settings, env)
    except ConfigError as error:
        print(f"{service.name}: configuration error: {error}", file=sys.stderr)
        return 78  # EX_CONFIG
    return 0
