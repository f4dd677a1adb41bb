#!/usr/bin/env python3
"""Render the gateway's NGINX configuration (helm/files/nginx.conf) for local use.

    python scripts/render_gateway.py --out FILE --listen-port 8080 \\
        --user 127.0.0.1:5000 --room 127.0.0.1:5001 --reservation 127.0.0.1:5002 \\
        --run-dir DIR [--auth-rate 10r/s] [--auth-burst 20] \\
        [--access-log /dev/stdout] [--error-log /dev/stderr] [--static-root DIR]

Every ``@@NAME@@`` placeholder is replaced by plain string replacement (the Helm
chart does the same with the same file); a placeholder left over is an error.
Standard library only: the test suite imports this file by path.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "helm" / "files" / "nginx.conf"

PLACEHOLDER = re.compile(r"@@[A-Za-z0-9_]*@@")
# A value is pasted into nginx.conf verbatim: refuse anything that could end a
# directive, open a block, start a comment or a quoted string.
_UNSAFE = re.compile(r"[\s;{}#'\"\\]|@@")
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}$")
_RATE = re.compile(r"^[0-9]+r/[sm]$")
# Where a gateway image keeps the web app; without one there, the app's paths are 404 problem+json.
STATIC_ROOT = "/srv/meeting-rooms/web"


def render(template: str, values: Mapping[str, str]) -> str:
    """Replace each ``@@NAME@@`` in ``template`` by ``values[NAME]``.

    Keys may be given as ``NAME`` or ``@@NAME@@``. Raises ``ValueError`` if a
    value is unsafe to paste into an NGINX configuration or if any placeholder
    is left over.
    """
    text = template
    for key, value in values.items():
        name = key.strip("@")
        if not name:
            raise ValueError(f"empty placeholder name: {key!r}")
        if not value or _UNSAFE.search(value):
            raise ValueError(f"unsafe value for @@{name}@@: {value!r}")
        text = text.replace(f"@@{name}@@", value)
    missing = sorted(set(PLACEHOLDER.findall(text)))
    if missing:
        raise ValueError(f"placeholders without a value: {', '.join(missing)}")
    return text


def _host_port(text: str) -> str:
    if not _HOST_PORT.match(text) or not 0 < int(text.rsplit(":", 1)[1]) < 65536:
        raise argparse.ArgumentTypeError(f"expected host:port, got {text!r}")
    return text


def _port(text: str) -> str:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}")
    return text


def _rate(text: str) -> str:
    if not _RATE.match(text):
        raise argparse.ArgumentTypeError(f"expected a rate like 10r/s or 600r/m, got {text!r}")
    return text


def _count(text: str) -> str:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return text


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Render helm/files/nginx.conf for local use.")
    parser.add_argument("--out", required=True, type=Path, help="file to write")
    parser.add_argument("--listen-port", required=True, type=_port)
    parser.add_argument("--user", required=True, type=_host_port, help="user service host:port")
    parser.add_argument("--room", required=True, type=_host_port, help="room service host:port")
    parser.add_argument("--reservation", required=True, type=_host_port, help="reservation service host:port")
    parser.add_argument("--run-dir", required=True, type=Path, help="pid file and temp dirs (created)")
    parser.add_argument("--auth-rate", default="10r/s", type=_rate)
    parser.add_argument("--auth-burst", default="20", type=_count)
    parser.add_argument("--access-log", default="/dev/stdout")
    parser.add_argument("--error-log", default="/dev/stderr")
    parser.add_argument("--static-root", default=STATIC_ROOT, help="the built web app (web/dist)")
    parser.add_argument("--template", default=TEMPLATE, type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    run_dir: Path = args.run_dir.resolve()
    values = {
        "LISTEN_PORT": args.listen_port,
        "USER_UPSTREAM": args.user,
        "ROOM_UPSTREAM": args.room,
        "RESERVATION_UPSTREAM": args.reservation,
        "AUTH_RATE": args.auth_rate,
        "AUTH_BURST": args.auth_burst,
        "RUN_DIR": str(run_dir),
        "ACCESS_LOG": args.access_log,
        "ERROR_LOG": args.error_log,
        "STATIC_ROOT": args.static_root,
    }
    try:
        text = render(args.template.read_text(encoding="utf-8"), values)
    except (OSError, ValueError) as exc:
        print(f"render_gateway: error: {exc}", file=sys.stderr)
        return 1
    run_dir.mkdir(parents=True, exist_ok=True)
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
