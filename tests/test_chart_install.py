"""The chart installed, upgraded and rolled back on a real Kubernetes API server.

scripts/kube/apiserver.sh builds (once, cached in .cache/kube) and starts etcd and kube-apiserver on
loopback; the Helm v3 CLI installs the chart with each values file, upgrades it to a new image tag and
changed values, and rolls it back. The API server stores, validates and admits every object (schemas,
immutable fields, name lengths, Pod Security admission), and helm's stderr must stay empty: a warning
from the API server (Pod Security, a deprecated API) fails the test like an error does.

Nothing runs there (no scheduler, no kubelet): Pods stay Pending, so no --wait. This proves what the
API server accepts, not that Pods start; the kind job of .github/workflows/cicd.yml does that.
Production's Secrets are made by running the shell blocks of helm/README.md as they are written.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm"
APISERVER = ROOT / "scripts" / "kube" / "apiserver.sh"
WORKFLOW = ROOT / ".github" / "workflows" / "cicd.yml"
README = CHART / "README.md"
RELEASE = "meeting-room-system"
REGISTRY = "docker.io/meetingroomsystem"  # image.registry's default: what CI pushes
SHA = "0123456789abcdef0123456789abcdef01234567"
CASES = ("default", "development", "staging", "production")
TIMEOUT = 300


@dataclass(frozen=True)
class Cluster:
    helm: str
    kubectl: str
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            list(args), env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
        if check:
            assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout}\n{result.stderr}"
        return result

    def helm_clean(self, *args: str) -> str:
        """helm ARGS: it must succeed and print nothing on stderr (where the API server's warnings go)."""
        result = self.run(self.helm, *args, check=False)
        assert result.returncode == 0 and not result.stderr.strip(), (
            f"helm {' '.join(args)} (exit {result.returncode}):\n{result.stderr}\n{result.stdout}"
        )
        return result.stdout

    def get(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        result = self.run(self.kubectl, "-n", namespace, "get", kind, name, "-o", "json")
        return dict(json.loads(result.stdout))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    # Builds only when .cache/kube lacks the binaries (then it takes minutes; bootstrap does it first).
    subprocess.run([str(APISERVER), "build"], check=True, timeout=3600)
    paths = dict(
        line.split("=", 1)
        for line in subprocess.run(
            [str(APISERVER), "paths"], check=True, capture_output=True, text=True
        ).stdout.splitlines()
    )
    work = tmp_path_factory.mktemp("kube")
    ports = os.environ.get("CHART_INSTALL_PORTS", "")  # "ETCD,API", e.g. for a run beside make test
    etcd_port, api_port = (int(p) for p in ports.split(",")) if ports else (free_port(), free_port())
    server = work / "server"
    subprocess.run([str(APISERVER), "start", str(server), str(etcd_port), str(api_port)], check=True, timeout=120)
    home = work / "home"
    env = {
        "PATH": f"{Path(paths['KUBECTL']).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "KUBECONFIG": str(server / "kubeconfig"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "LANG": "C.UTF-8",
    }
    try:
        yield Cluster(helm=paths["HELM"], kubectl=paths["KUBECTL"], env=env)
    finally:
        subprocess.run([str(APISERVER), "stop", str(server)], check=False, timeout=60)


def readme_block(marker: str) -> str:
    """The ```bash block that follows `<!-- MARKER -->` in helm/README.md."""
    match = re.search(rf"<!-- {re.escape(marker)} -->\s*```bash\n(.*?)```", README.read_text(), re.S)
    assert match, f"helm/README.md has no bash block marked <!-- {marker} -->"
    return match.group(1)


def run_readme_block(cluster: Cluster, marker: str, namespace: str, workdir: Path, **env: str) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_block(marker)],
        env={**cluster.env, "NAMESPACE": namespace, **env},
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"helm/README.md block {marker}:\n{result.stdout}\n{result.stderr}"


def secret_names_used(cluster: Cluster, namespace: str) -> set[str]:
    """Every Secret a workload or the Ingress of the release names."""
    names: set[str] = set()
    for kind in ("deployments", "statefulsets", "daemonsets", "jobs", "cronjobs", "ingresses"):
        items = json.loads(cluster.run(cluster.kubectl, "-n", namespace, "get", kind, "-o", "json").stdout)["items"]
        text = json.dumps(items)
        names |= set(re.findall(r'"secretKeyRef": \{[^}]*"name": "([^"]+)"', text))
        names |= set(re.findall(r'"secretName": "([^"]+)"', text))
    return names


def values_args(case: str) -> list[str]:
    return [] if case == "default" else ["-f", str(CHART / f"values-{case}.yaml")]


def deployment_image(cluster: Cluster, namespace: str, name: str) -> str:
    deployment = cluster.get(namespace, "deployment", f"{RELEASE}-{name}")
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


# Safe to change on a running release; the upgrade must not hit an immutable field anywhere.
UPGRADE = [
    "--set-string",
    f"imageTag={SHA}",
    "--set",
    "config.logLevel=WARNING",
    "--set",
    "nginx.authRateLimit.rate=300r/m",
    "--set",
    "shutdown.drainSeconds=15",
    "--set",
    "nginx.realIp.trustedProxies={10.244.0.0/16}",
    "--set",
    "config.adminEmails={admin@example.com}",
]


@pytest.mark.parametrize("case", CASES)
def test_install_upgrade_rollback(cluster: Cluster, case: str, tmp_path: Path) -> None:
    namespace = f"rooms-{case}"
    run_readme_block(cluster, "namespace", namespace, tmp_path)
    if case == "production":
        run_readme_block(
            cluster,
            "production-secrets",
            namespace,
            tmp_path,
            GOOGLE_CLIENT_ID="1234-test.apps.googleusercontent.com",
            GOOGLE_CLIENT_SECRET="test-client-secret",
        )
        # A certificate of one's own (self-signed here), stored the way the README says.
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
                *("-subj", "/CN=rooms.example.com", "-keyout", "tls.key", "-out", "tls.crt"),
            ],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            timeout=60,
        )
        run_readme_block(cluster, "tls-secret", namespace, tmp_path)
    common = ["--namespace", namespace, *values_args(case)]

    cluster.helm_clean("install", RELEASE, str(CHART), *common)
    if case == "production":  # every Secret the Pods read exists: none was forgotten in the README
        made = {
            s["metadata"]["name"]
            for s in json.loads(cluster.run(cluster.kubectl, "-n", namespace, "get", "secrets", "-o", "json").stdout)[
                "items"
            ]
        }
        assert {f"{RELEASE}-{n}" for n in ("secrets", "google-oauth", "postgresql", "grafana", "tls")} <= made
        assert secret_names_used(cluster, namespace) <= made
    # The `helm test` Pod would never finish here (no kubelet): the API server admits it in a dry run
    # (Pods, unlike workloads, are refused outright by the namespace's enforced restricted level).
    hooks = cluster.helm_clean("get", "hooks", RELEASE, "--namespace", namespace)
    assert "helm.sh/hook: test" in hooks
    dry_run = subprocess.run(
        [cluster.kubectl, "-n", namespace, "create", "--dry-run=server", "-f", "-"],
        input=hooks,
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert dry_run.returncode == 0 and not dry_run.stderr.strip(), dry_run.stderr
    first = deployment_image(cluster, namespace, "room-service-web")
    assert first.endswith(":latest")
    # The gateway is our image (NGINX with the web app), from the same registry and tag as the services'; the
    # `helm test` Pod runs in it too. Its configuration stays the ConfigMap's.
    assert deployment_image(cluster, namespace, "gateway") == f"{REGISTRY}/gateway:latest"
    assert f'image: "{REGISTRY}/gateway:latest"' in hooks
    gateway_pod = cluster.get(namespace, "deployment", f"{RELEASE}-gateway")["spec"]["template"]["spec"]
    assert {"name": "config", "mountPath": "/etc/nginx/gateway", "readOnly": True} in gateway_pod["containers"][0][
        "volumeMounts"
    ]
    assert (
        "root /srv/meeting-rooms/web;"
        in cluster.get(namespace, "configmap", f"{RELEASE}-gateway")["data"]["nginx.conf"]
    )
    secrets_before = cluster.get(namespace, "deployment", f"{RELEASE}-user-service-web")["spec"]["template"][
        "metadata"
    ]["annotations"]["checksum/secrets"]

    cluster.helm_clean("upgrade", RELEASE, str(CHART), *common, *UPGRADE)
    assert deployment_image(cluster, namespace, "room-service-web").endswith(f":{SHA}")
    assert deployment_image(cluster, namespace, "gateway") == f"{REGISTRY}/gateway:{SHA}"
    config = cluster.get(namespace, "configmap", f"{RELEASE}-room-service")["data"]
    assert config["LOG_LEVEL"] == "WARNING"
    gateway = cluster.get(namespace, "configmap", f"{RELEASE}-gateway")["data"]["nginx.conf"]
    assert "set_real_ip_from 10.244.0.0/16;" in gateway and "rate=300r/m" in gateway

    cluster.helm_clean("rollback", RELEASE, "1", "--namespace", namespace)
    assert deployment_image(cluster, namespace, "room-service-web") == first
    assert deployment_image(cluster, namespace, "gateway") == f"{REGISTRY}/gateway:latest"
    assert cluster.get(namespace, "configmap", f"{RELEASE}-room-service")["data"]["LOG_LEVEL"] != "WARNING"

    history = json.loads(cluster.helm_clean("history", RELEASE, "--namespace", namespace, "-o", "json"))
    assert [h["status"] for h in history] == ["superseded", "superseded", "deployed"]

    if case == "production":
        # The Secrets from the README are the ones the Pods read; rotating one restarts the services.
        cluster.run(
            cluster.kubectl,
            "-n",
            namespace,
            "patch",
            "secret",
            f"{RELEASE}-secrets",
            "-p",
            json.dumps({"stringData": {"user-db-password": "rotated-password-0123456789"}}),
        )
        cluster.helm_clean("upgrade", RELEASE, str(CHART), *common)
        after = cluster.get(namespace, "deployment", f"{RELEASE}-user-service-web")["spec"]["template"]["metadata"][
            "annotations"
        ]["checksum/secrets"]
        assert after != secrets_before, "a rotated Secret must change the Pods' checksum/secrets"


# --- The checks can fail ------------------------------------------------------------------------


def test_an_immutable_field_change_is_an_error(cluster: Cluster) -> None:
    namespace = "rooms-immutable"
    cluster.run(cluster.kubectl, "create", "namespace", namespace)
    cluster.helm_clean("install", RELEASE, str(CHART), "--namespace", namespace, *values_args("development"))
    result = cluster.run(
        cluster.helm,
        "upgrade",
        RELEASE,
        str(CHART),
        "--namespace",
        namespace,
        *values_args("development"),
        "--set",
        "postgresql.persistence.size=3Gi",
        check=False,
    )
    assert result.returncode != 0 and "Forbidden" in result.stderr, result.stderr


def test_pod_security_warnings_are_seen(cluster: Cluster, tmp_path: Path) -> None:
    """Fluent Bit (root, hostPath) in a namespace that warns on `restricted`: helm prints the warnings."""
    namespace = "rooms-warned"
    run_readme_block(cluster, "namespace", namespace, tmp_path)
    result = cluster.run(
        cluster.helm,
        "install",
        RELEASE,
        str(CHART),
        "--namespace",
        namespace,
        *values_args("development"),
        "--set",
        "monitoring.enabled=true,monitoring.cloudwatch.enabled=true,monitoring.cloudwatch.existingSecret=aws",
        "--set",
        "monitoring.grafana.alerting.webhook.url=https://hooks.example.com/alerts",
        "--set",
        "monitoring.loki.enabled=false",
        check=False,
    )
    assert "would violate PodSecurity" in result.stderr, result.stderr


# --- One Kubernetes version --------------------------------------------------------------------


def test_the_kind_job_and_ci_use_the_pinned_kubernetes_version(cluster: Cluster) -> None:
    paths = dict(
        line.split("=", 1)
        for line in subprocess.run(
            [str(APISERVER), "paths"], check=True, capture_output=True, text=True
        ).stdout.splitlines()
    )
    version = paths["KUBE_VERSION"]
    served = json.loads(cluster.run(cluster.kubectl, "version", "-o", "json").stdout)["serverVersion"]
    assert served["gitVersion"] == version
    workflow = yaml.safe_load(WORKFLOW.read_text())
    env = workflow["env"]
    assert env["KUBERNETES_VERSION"] == version
    assert env["KIND_NODE_IMAGE"].startswith(f"kindest/node:{version}@sha256:")
    assert env["HELM_VERSION"] == paths["HELM_VERSION"]
