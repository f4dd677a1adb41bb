"""Container health check that fits the command the container runs: web, relay, consumer or migrate.

    python /app/healthcheck.py [web|relay|consumer|migrate]

Without an argument the command is found among the container's processes: gunicorn is `web` (probed on
PORT), `python -m <service> relay|consumer` is a worker (probed on HEALTH_PORT, defaults as in
servicekit.boot), anything else is a one-shot `migrate` with nothing to probe. Standard library only:
it runs inside the image, and the tests import it by path.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_PORTS = {"web": ("PORT", 5000), "relay": ("HEALTH_PORT", 9000), "consumer": ("HEALTH_PORT", 9001)}
COMMANDS = ("web", "relay", "consumer", "migrate")


def command_of(argv: list[str]) -> str | None:
    """The service command a process runs, from its argument list."""
    if any(Path(arg).name == "gunicorn" for arg in argv[:3]):
        return "web"
    if "-m" in argv and argv[-1] in COMMANDS:
        return argv[-1]
    return None


def detect(proc: Path = Path("/proc")) -> str:
    """The command of this container, read from the processes it runs."""
    found: set[str] = set()
    for cmdline in proc.glob("[0-9]*/cmdline"):
        try:
            argv = [arg for arg in cmdline.read_bytes().decode(errors="replace").split("\0") if arg]
        except OSError:  # the process ended while we looked
            continue
        command = command_of(argv)
        if command:
            found.add(command)
    for command in ("web", "consumer", "relay"):
        if command in found:
            return command
    return "migrate"


def probe(command: str, environ: os._Environ[str] | dict[str, str] = os.environ, timeout_s: float = 3.0) -> bool:
    """True when the process answers 200 on /healthz (always true for migrate: nothing serves)."""
    if command not in DEFAULT_PORTS:
        return True
    variable, default = DEFAULT_PORTS[command]
    url = f"http://127.0.0.1:{int(environ.get(variable) or default)}/healthz"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(url, timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str]) -> int:
    if len(argv) > 1 or (argv and argv[0] not in COMMANDS):
        print(f"usage: healthcheck.py [{'|'.join(COMMANDS)}]", file=sys.stderr)
        return 2
    command = argv[0] if argv else detect()
    return 0 if probe(command) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
