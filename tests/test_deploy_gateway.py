"""`nginx -t` on every gateway configuration: development, docker compose, and the chart's ConfigMap.

All three come from helm/files/nginx.conf. NGINX resolves upstream host names while it checks, and names
like `user-service` exist only inside compose or a cluster: the check runs in a throwaway mount
namespace whose /etc/hosts maps them to 127.0.0.1 (and whose /tmp, the configurations' run directory,
is a fresh tmpfs), so nothing on this machine changes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.test_deploy_chart import CASES, RELEASE, find, rendered_case

ROOT = Path(__file__).resolve().parent.parent
RENDERER = ROOT / "scripts" / "render_gateway.py"
UPSTREAM = re.compile(r"^\s*server\s+([A-Za-z0-9.-]+):[0-9]+;", re.M)
ISOLATED_CHECK = (
    'mount --bind "$1/hosts" /etc/hosts && mount --bind "$1" /mnt && mount -t tmpfs tmpfs /tmp'
    ' && exec "$2" -t -q -c /mnt/nginx.conf -e stderr'
)


def nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    assert found, "nginx is missing: run scripts/bootstrap.sh"
    return found


def nginx_test_isolated(conf: str, work: Path, hosts: list[str]) -> subprocess.CompletedProcess[str]:
    """`nginx -t` in its own mount namespace, with `hosts` resolving to 127.0.0.1."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "nginx.conf").write_text(conf)
    (work / "hosts").write_text(f"127.0.0.1 localhost {' '.join(hosts)}\n")
    unshare = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        unshare.insert(1, "--map-root-user")
    command = [*unshare, "sh", "-c", ISOLATED_CHECK, "sh", str(work), nginx()]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def upstream_hosts(conf: str) -> list[str]:
    hosts = sorted(set(UPSTREAM.findall(conf)))
    assert len(hosts) == 3, hosts
    return hosts


def test_development_configuration_passes_nginx_t(tmp_path: Path) -> None:
    conf, run_dir = tmp_path / "nginx.conf", tmp_path / "run"
    args = ["--out", str(conf), "--listen-port", "18080", "--run-dir", str(run_dir)]
    args += ["--user", "127.0.0.1:5000", "--room", "127.0.0.1:5001", "--reservation", "127.0.0.1:5002"]
    subprocess.run([sys.executable, str(RENDERER), *args], check=True, timeout=30)
    result = subprocess.run(
        [nginx(), "-t", "-q", "-p", f"{run_dir}/", "-c", str(conf), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def compose_render_args() -> list[str]:
    """The gateway-config step's own command from docker-compose.yml, with ${VAR:-default} at its default."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["gateway-config"]["command"]
    assert command[:2] == ["python", "/src/scripts/render_gateway.py"]
    return [re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(arg)) for arg in command[2:]]


def test_compose_configuration_passes_nginx_t(tmp_path: Path) -> None:
    args = compose_render_args()
    out = tmp_path / "compose-nginx.conf"
    args[args.index("--out") + 1] = str(out)
    subprocess.run([sys.executable, str(RENDERER), *args], check=True, timeout=30)
    conf = out.read_text()
    assert upstream_hosts(conf) == ["reservation-service", "room-service", "user-service"]
    result = nginx_test_isolated(conf, tmp_path / "check", upstream_hosts(conf))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("case", CASES)
def test_chart_configuration_passes_nginx_t(case: str, tmp_path: Path) -> None:
    conf = find(rendered_case(case), "ConfigMap", f"{RELEASE}-gateway")[0]["data"]["nginx.conf"]
    hosts = upstream_hosts(conf)
    assert all(host.startswith(f"{RELEASE}-") for host in hosts)
    result = nginx_test_isolated(conf, tmp_path / "check", hosts)
    assert result.returncode == 0, result.stderr


def test_the_check_would_fail_without_the_names(tmp_path: Path) -> None:
    """The hosts entries are what makes the isolated check pass: NGINX really resolves the upstreams."""
    conf = find(rendered_case("default"), "ConfigMap", f"{RELEASE}-gateway")[0]["data"]["nginx.conf"]
    result = nginx_test_isolated(conf, tmp_path / "check", [])
    assert result.returncode != 0 and "host not found" in result.stderr
