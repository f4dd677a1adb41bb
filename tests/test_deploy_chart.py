"""The Helm chart, rendered offline by Helm's own engine (helm-python-sdk) for every environment.

Linted strictly, every manifest validated against the Kubernetes schemas (kubernetes-validate, strict),
and the rendered objects checked for what a cluster would otherwise find out the hard way.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm"
RELEASE = "meeting-room-system"
NAMESPACE = "meeting-rooms"
KUBERNETES_VERSIONS = ("1.30.0", "1.35.0")  # the oldest supported, and the pinned one (scripts/kube/apiserver.sh)
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
EXTERNAL = {
    "postgresql": {"enabled": False},
    "externalDatabase": {"host": "db.internal", "existingSecret": "db-admin"},
    "kafka": {"enabled": False},
    "externalKafka": {"bootstrapServers": "b-1.kafka.internal:9092,b-2.kafka.internal:9092"},
}
BACKUP = {
    "backup": {
        "enabled": True,
        "timeZone": "Europe/Berlin",
        "s3": {"bucket": "rooms-backups", "existingSecret": "backup-aws"},
        "persistence": {"existingClaim": "backups"},
    }
}
# Monitoring on without the production values: generated Grafana password, e-mail alerts, no volumes.
MONITORING = {
    "config": {"adminEmails": ["ops@example.com", "admin@example.com"]},
    "monitoring": {
        "enabled": True,
        "loki": {"persistence": {"enabled": False}},
        "grafana": {
            "persistence": {"enabled": False},
            "smtp": {"host": "smtp.example.com:587", "fromAddress": "grafana@example.com", "existingSecret": "smtp"},
        },
        "cloudwatch": {"enabled": True, "existingSecret": "aws-logs"},
    },
}
CASES = ("default", "development", "staging", "production", "external", "backup", "monitoring")
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}

Manifest = dict[str, Any]


def values_file(name: str) -> dict[str, Any]:
    """A values file as Helm itself parses it (anchors and merge keys included)."""
    return helm.values_from_yaml((CHART / name).read_text())


def case_values(case: str) -> dict[str, Any]:
    if case == "default":
        return {}
    if case == "external":
        return {**values_file("values-production.yaml"), **EXTERNAL}
    if case == "backup":
        return BACKUP
    if case == "monitoring":
        return MONITORING
    return values_file(f"values-{case}.yaml")


def render(values: dict[str, Any] | None = None, *, namespace: str = NAMESPACE) -> list[Manifest]:
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values=values or {}, name=RELEASE, namespace=namespace)
    return [
        doc
        for path, text in sorted(rendered.items())
        if path.endswith(".yaml")
        for doc in yaml.load_all(text, Loader=yaml.CSafeLoader)  # libyaml's: ten times Python's speed
        if doc
    ]


@functools.cache
def rendered_case(case: str) -> tuple[Manifest, ...]:
    return tuple(render(case_values(case)))


def find(manifests: Any, kind: str, name: str | None = None) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]


def pod_specs(manifests: Any) -> Iterator[tuple[Manifest, dict[str, Any]]]:
    for manifest in manifests:
        if manifest["kind"] == "Pod":  # the `helm test` hook
            yield manifest, manifest["spec"]
        elif manifest["kind"] in WORKLOADS:
            yield manifest, manifest["spec"]["template"]["spec"]
        elif manifest["kind"] == "CronJob":
            yield manifest, manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def render_gateway_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_gateway", ROOT / "scripts" / "render_gateway.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- Rendering, lint, Kubernetes schemas -------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_chart_lints_strictly(case: str) -> None:
    report = helm.lint(CHART, case_values(case), strict=True, namespace=NAMESPACE, kube_version="v1.30.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"] and not problems, report


@pytest.mark.parametrize("case", CASES)
def test_every_manifest_validates_against_kubernetes_schemas(case: str) -> None:
    manifests = rendered_case(case)
    assert len(manifests) > 20
    for version in KUBERNETES_VERSIONS:
        for manifest in manifests:
            kubernetes_validate.validate(manifest, version, strict=True)


def test_kubernetes_validation_would_catch_a_bad_field() -> None:
    broken = {**find(rendered_case("default"), "Service")[0]}
    broken["spec"] = {**broken["spec"], "portz": []}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


@pytest.mark.parametrize("case", CASES)
def test_every_object_lives_in_the_release_namespace_with_our_labels(case: str) -> None:
    for manifest in rendered_case(case):
        if manifest["kind"] in CLUSTER_SCOPED:  # named after the namespace, so releases never collide
            assert "namespace" not in manifest["metadata"] and manifest["metadata"]["name"].startswith(NAMESPACE)
        else:
            assert manifest["metadata"]["namespace"] == NAMESPACE, manifest["metadata"]["name"]
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/part-of"] == "meeting-room-system"


# --- Pods: probes, resources, hardening --------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_long_running_containers_have_all_three_probes(case: str) -> None:
    for manifest, spec in pod_specs(rendered_case(case)):
        if manifest["kind"] in ("Job", "CronJob", "Pod"):
            continue
        for container in spec["containers"]:
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                assert probe in container, f"{manifest['metadata']['name']}/{container['name']} lacks {probe}"


@pytest.mark.parametrize("case", CASES)
def test_every_container_has_requests_and_limits(case: str) -> None:
    for manifest, spec in pod_specs(rendered_case(case)):
        for container in containers(spec):
            resources = container["resources"]
            for section in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[section]), (
                    f"{manifest['metadata']['name']}/{container['name']}"
                )


# The two exceptions, both log collectors (README.md, "Security"): Alloy reads Pod logs through the
# Kubernetes API (so it needs a token), Fluent Bit reads the node's root-owned log files (so it is root).
API_CLIENTS = {f"{RELEASE}-alloy"}
ROOT_PODS = {f"{RELEASE}-fluent-bit"}


@pytest.mark.parametrize("case", CASES)
def test_every_pod_and_container_is_non_root_and_hardened(case: str) -> None:
    for manifest, spec in pod_specs(rendered_case(case)):
        where = manifest["metadata"]["name"]
        pod = spec["securityContext"]
        if where in ROOT_PODS:
            assert pod["runAsUser"] == 0 and pod["runAsNonRoot"] is False, where
            assert all(v.get("hostPath", {}).get("path") != "/" for v in spec["volumes"]), where
        else:
            assert pod["runAsNonRoot"] is True and pod["runAsUser"] > 0 and pod["runAsGroup"] > 0, where
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", where
        assert spec["automountServiceAccountToken"] is (where in API_CLIENTS), where
        for container in containers(spec):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context.get("privileged") is not True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert "add" not in context["capabilities"], where
            mounts = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{where}/{container['name']}: nowhere writable for temporary files"  # noqa: S108


@pytest.mark.parametrize("case", CASES)
def test_web_deployments_wait_for_their_database_then_migrate_in_init_containers(case: str) -> None:
    webs = [m for m in find(rendered_case(case), "Deployment") if m["metadata"]["name"].endswith("-service-web")]
    assert len(webs) == 3
    for web in webs:
        spec = web["spec"]["template"]["spec"]
        init = spec["initContainers"]
        assert [c["name"] for c in init] == ["wait-for-database", "migrate"]
        assert init[1]["args"] == ["migrate"]
        assert {c["image"] for c in init} == {spec["containers"][0]["image"]}
        assert spec["containers"][0]["args"] == ["web"]
        assert init[1]["envFrom"] == spec["containers"][0]["envFrom"]


WORKER_COMMANDS = ("relay", "consumer", "scheduler")


def test_relays_the_consumer_and_the_scheduler_are_probed_on_their_health_port() -> None:
    workers = [
        m for m in find(rendered_case("default"), "Deployment") if m["metadata"]["name"].endswith(WORKER_COMMANDS)
    ]
    assert len(workers) == 5
    ports = set()
    for worker in workers:
        template = worker["spec"]["template"]
        container = template["spec"]["containers"][0]
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert container["ports"] == [{"name": "health", "containerPort": int(env["HEALTH_PORT"]), "protocol": "TCP"}]
        for probe in ("livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
        assert template["metadata"]["annotations"]["prometheus.io/port"] == env["HEALTH_PORT"]
        assert container["args"] == [worker["metadata"]["name"].rsplit("-", 1)[1]]
        ports.add(env["HEALTH_PORT"])
    assert len(ports) == 3  # one port per command


def test_the_reservation_scheduler_runs_like_the_relay_with_its_poll_interval() -> None:
    name = f"{RELEASE}-reservation-service"
    for case, replicas in (("default", 1), ("development", 1), ("production", 2)):
        manifests = rendered_case(case)
        (scheduler,) = find(manifests, "Deployment", f"{name}-scheduler")
        (relay,) = find(manifests, "Deployment", f"{name}-relay")
        assert scheduler["spec"]["replicas"] == relay["spec"]["replicas"] == replicas, case
        container = scheduler["spec"]["template"]["spec"]["containers"][0]
        relay_container = relay["spec"]["template"]["spec"]["containers"][0]
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert (env["HEALTH_PORT"], env["SCHEDULER_POLL_SECONDS"]) == ("9002", "15")
        assert container["envFrom"] == relay_container["envFrom"] and container["image"] == relay_container["image"]
    (scheduler,) = find(
        render({"reservationService": {"scheduler": {"pollSeconds": 5}}}), "Deployment", f"{name}-scheduler"
    )
    env = {item["name"]: item.get("value") for item in scheduler["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SCHEDULER_POLL_SECONDS"] == "5"


def test_the_reservation_service_caps_upcoming_reservations_at_50() -> None:
    (config,) = find(rendered_case("production"), "ConfigMap", f"{RELEASE}-reservation-service")
    assert config["data"]["MAX_UPCOMING_RESERVATIONS"] == "50"
    (unlimited,) = find(
        render({"reservationService": {"maxUpcomingReservations": 0}}), "ConfigMap", f"{RELEASE}-reservation-service"
    )
    assert "MAX_UPCOMING_RESERVATIONS" not in unlimited["data"]


# --- Images -----------------------------------------------------------------------------------


def test_service_images_carry_the_image_tag() -> None:
    manifests = render({"imageTag": "3f9c2ab"})
    service_images = [
        container["image"]
        for _, spec in pod_specs(manifests)
        for container in containers(spec)
        if container["image"].startswith("docker.io/meetingroomsystem/")
    ]
    # web + 2 init each, relays, consumer, scheduler; the gateway and its `helm test` Pod
    assert len(service_images) == 3 * 2 + 3 * 2 + 2 + 2
    assert {image.rsplit(":", 1)[1] for image in service_images} == {"3f9c2ab"}
    assert {image.rsplit("/", 1)[1].split(":")[0] for image in service_images} == {
        "user-service",
        "room-service",
        "reservation-service",
        "gateway",
    }


def workflow() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / ".github" / "workflows" / "cicd.yml").read_text()))


def test_default_images_are_exactly_what_ci_pushes() -> None:
    """Registry (with DOCKER_HUB_NAMESPACE unset), repositories and tag: the build job's, unchanged."""
    doc = workflow()
    registry = doc["env"]["IMAGE_REGISTRY"].replace("${{ vars.DOCKER_HUB_NAMESPACE || 'meetingroomsystem' }}", "")
    registry += "meetingroomsystem"
    build = doc["jobs"]["build"]
    pushed_images = {entry["image"] for entry in build["strategy"]["matrix"]["include"]}
    step = next(s for s in build["steps"] if s.get("uses", "").startswith("docker/build-push-action@"))
    pushed_tags = {line.rsplit(":", 1)[1] for line in step["with"]["tags"].splitlines()}
    assert "latest" in pushed_tags
    manifests = render(BACKUP)
    ours = {
        container["image"]
        for _, spec in pod_specs(manifests)
        for container in containers(spec)
        if container["image"].startswith("docker.io/meetingroomsystem/")
    }
    assert ours == {f"{registry}/{image}:latest" for image in pushed_images}
    values = values_file("values.yaml")
    assert values["image"]["registry"] == registry and values["imageTag"] == "latest"
    # latest is pulled again at every Pod start: Kubernetes' default policy, so the chart sets none.
    for _, spec in pod_specs(manifests):
        for container in containers(spec):
            if container["image"] in ours:
                assert "imagePullPolicy" not in container, container["name"]


def test_without_an_image_tag_the_chart_app_version_is_used_and_other_images_are_pinned() -> None:
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    for _, spec in pod_specs(render({"imageTag": ""})):
        for container in containers(spec):
            name, _, tag = container["image"].rpartition(":")
            assert name and tag and tag != "latest", container["image"]
            if "/meetingroomsystem/" in name:
                assert tag == app_version


# --- Secrets ----------------------------------------------------------------------------------


def secret_data(manifests: Any) -> dict[str, dict[str, str]]:
    return {
        s["metadata"]["name"]: {key: base64.b64decode(value).decode() for key, value in s.get("data", {}).items()}
        for s in find(manifests, "Secret")
    }


def test_secret_values_come_from_values() -> None:
    given = {
        "secrets": {
            "jwtSigningKey": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n",
            "databasePasswords": {"userService": "pw-u", "roomService": "pw-r", "reservationService": "pw-x"},
            "calendarFeedKey": "feed-key-of-at-least-thirty-two-chars",
        },
        "googleOAuth": {"clientId": "id-123", "clientSecret": "s3cret"},
        "postgresql": {"auth": {"postgresPassword": "pg-admin"}},
    }
    data = secret_data(render(given))
    assert data[f"{RELEASE}-secrets"] == {
        "jwt-signing-key": given["secrets"]["jwtSigningKey"],
        "user-db-password": "pw-u",
        "room-db-password": "pw-r",
        "reservation-db-password": "pw-x",
        "calendar-feed-key": "feed-key-of-at-least-thirty-two-chars",
    }
    assert data[f"{RELEASE}-google-oauth"] == {"client-id": "id-123", "client-secret": "s3cret"}
    assert data[f"{RELEASE}-postgresql"] == {"postgres-password": "pg-admin"}


def test_empty_secret_values_are_generated_never_constant() -> None:
    first, second = secret_data(render()), secret_data(render())
    assert set(first) == {f"{RELEASE}-secrets", f"{RELEASE}-postgresql"}  # no OAuth client: no Secret for it
    for name, values in first.items():
        for key, value in values.items():
            assert len(value) >= 32 and value != second[name][key], f"{name}/{key} is not generated"
    key = first[f"{RELEASE}-secrets"]["jwt-signing-key"]
    assert key.startswith("-----BEGIN RSA PRIVATE KEY-----")


def test_existing_secrets_are_used_and_none_is_rendered() -> None:
    manifests = rendered_case("production")
    assert not find(manifests, "Secret")
    expected = {
        "meeting-room-system-secrets",
        "meeting-room-system-google-oauth",
        "meeting-room-system-postgresql",
        "meeting-room-system-grafana",
    }
    assert secret_refs(manifests) == expected


def secret_refs(manifests: Any) -> set[str]:
    return {
        item["valueFrom"]["secretKeyRef"]["name"]
        for _, spec in pod_specs(manifests)
        for container in containers(spec)
        for item in container.get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    }


@pytest.mark.parametrize("case", CASES)
def test_every_reference_resolves(case: str) -> None:
    manifests = rendered_case(case)
    declared = {
        v["secrets"]["existingSecret"] for v in [case_values(case)] if v.get("secrets", {}).get("existingSecret")
    } | {
        "meeting-room-system-google-oauth",
        "meeting-room-system-postgresql",
        "meeting-room-system-grafana",
        "db-admin",
        "backup-aws",
        "aws-logs",
        "smtp",
    }
    secrets = {s["metadata"]["name"] for s in find(manifests, "Secret")} | declared
    assert secret_refs(manifests) <= secrets
    config_maps = {c["metadata"]["name"] for c in find(manifests, "ConfigMap")}
    for _, spec in pod_specs(manifests):
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps
        for container in containers(spec):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps
    pods = [
        m["spec"]["template"]["metadata"]["labels"]
        for m in manifests
        if m["kind"] in ("Deployment", "StatefulSet", "DaemonSet")
    ]
    for selector in [s["spec"]["selector"] for s in find(manifests, "Service")] + [
        p["spec"]["selector"]["matchLabels"] for p in find(manifests, "PodDisruptionBudget")
    ]:
        assert any(selector.items() <= labels.items() for labels in pods), selector
    deployments = {d["metadata"]["name"]: d for d in find(manifests, "Deployment")}
    for hpa in find(manifests, "HorizontalPodAutoscaler"):
        target = deployments[hpa["spec"]["scaleTargetRef"]["name"]]
        assert "replicas" not in target["spec"], "the HPA owns the replica count"


# --- Namespace, environments, external services -----------------------------------------------


def test_namespace_is_rendered_only_when_asked() -> None:
    for case in CASES:
        assert not find(rendered_case(case), "Namespace")
    (namespace,) = find(render({"namespace": {"create": True}}), "Namespace")
    assert namespace["metadata"]["name"] == NAMESPACE
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def replicas(manifests: Any, name: str) -> int:
    return int(find(manifests, "Deployment", f"{RELEASE}-{name}")[0]["spec"].get("replicas", 0))


def test_environments_differ_in_size() -> None:
    dev, staging, prod = (rendered_case(c) for c in ("development", "staging", "production"))
    assert replicas(dev, "room-service-web") == 1 and not find(dev, "HorizontalPodAutoscaler")
    assert len(find(staging, "HorizontalPodAutoscaler")) == 3 and len(find(prod, "HorizontalPodAutoscaler")) == 3
    assert find(prod, "HorizontalPodAutoscaler")[0]["spec"]["minReplicas"] == 3

    def volume(manifests: Any, name: str) -> str:
        (sts,) = find(manifests, "StatefulSet", f"{RELEASE}-{name}")
        return str(sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"])

    assert [volume(m, "postgresql") for m in (dev, staging, prod)] == ["2Gi", "10Gi", "50Gi"]
    assert find(prod, "StatefulSet", f"{RELEASE}-kafka")[0]["spec"]["replicas"] == 3
    assert find(prod, "Ingress")[0]["spec"]["tls"]
    assert values_file("values-production.yaml")["monitoring"]["enabled"] is True
    assert values_file("values-development.yaml")["monitoring"]["enabled"] is False
    assert values_file("values.yaml")["monitoring"]["enabled"] is False
    assert "alloy" in values_file("values-production.yaml")["monitoring"]


def test_kafka_quorum_and_replication_follow_the_broker_count() -> None:
    config = find(rendered_case("production"), "ConfigMap", f"{RELEASE}-kafka")[0]["data"]["server.properties"]
    voters = re.search(r"^controller\.quorum\.voters=(.*)$", config, re.M)
    assert voters and len(voters.group(1).split(",")) == 3
    assert "min.insync.replicas=2" in config and "offsets.topic.replication.factor=3" in config
    with pytest.raises(helm.HelmError, match="replicationFactor"):
        render({"kafka": {"provisioning": {"replicationFactor": 3}}})


def service_config(manifests: Any, service: str) -> dict[str, str]:
    return dict(find(manifests, "ConfigMap", f"{RELEASE}-{service}")[0]["data"])


def test_external_postgresql_and_kafka_replace_the_statefulsets() -> None:
    manifests = rendered_case("external")
    assert [s["metadata"]["name"] for s in find(manifests, "StatefulSet")] == [f"{RELEASE}-loki"]
    config = service_config(manifests, "reservation-service")
    assert config["DATABASE_URL"] == "postgresql://reservation_service@db.internal:5432/reservation_db"
    assert config["PGSSLMODE"] == "require"
    assert config["KAFKA_BOOTSTRAP_SERVERS"] == EXTERNAL["externalKafka"]["bootstrapServers"]
    (job,) = [j for j in find(manifests, "Job") if "create-databases" in j["metadata"]["name"]]
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "PGHOST", "value": "db.internal"} in env


def test_services_are_configured_for_their_own_database_and_the_user_service_keys() -> None:
    manifests = rendered_case("default")
    for service, database in (("user-service", "user_db"), ("room-service", "room_db")):
        url = service_config(manifests, service)["DATABASE_URL"]
        assert url.endswith(f"@{RELEASE}-postgresql:5432/{database}") and ":" not in url.split("@")[0][13:]
    jwks = f"http://{RELEASE}-user-service:5000/.well-known/jwks.json"
    assert service_config(manifests, "room-service")["JWKS_URL"] == jwks
    assert service_config(manifests, "reservation-service")["MAX_RESERVATION_HOURS"] == "12"


def test_jobs_are_plain_resources_named_per_revision() -> None:
    """Helm hooks would wait behind --wait for web Pods that wait for the Jobs: a deadlock."""
    jobs = find(rendered_case("default"), "Job")
    assert sorted(j["metadata"]["name"] for j in jobs) == [
        f"{RELEASE}-create-databases-1",
        f"{RELEASE}-create-topics-1",
    ]
    for job in jobs:
        assert not any(key.startswith("helm.sh/hook") for key in job["metadata"].get("annotations", {}))
        assert job["spec"]["ttlSecondsAfterFinished"] > 0


def test_backup_cronjob_runs_backup_sh_against_the_chart_database_and_s3() -> None:
    assert not find(rendered_case("default"), "CronJob")
    (cronjob,) = find(rendered_case("backup"), "CronJob", f"{RELEASE}-backup")
    spec = cronjob["spec"]
    assert spec["schedule"] == "0 2 * * *" and spec["timeZone"] == "Europe/Berlin"
    assert spec["concurrencyPolicy"] == "Forbid" and spec["startingDeadlineSeconds"] == 600
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 1 and job["activeDeadlineSeconds"] == 3600
    pod = job["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "docker.io/meetingroomsystem/backup:latest"
    assert container["command"] == ["/app/backup.sh"] and "args" not in container  # a bucket: not --local-only
    env = {item["name"]: item for item in container["env"]}
    assert env["S3_BUCKET_NAME"]["value"] == "rooms-backups"
    assert env["USER_DATABASE_URL"]["value"] == f"postgresql://postgres@{RELEASE}-postgresql:5432/user_db"
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{RELEASE}-postgresql",
        "key": "postgres-password",
    }
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"] == {"name": "backup-aws", "key": "aws-access-key-id"}
    assert (env["LOCAL_RETENTION_DAYS"]["value"], env["S3_RETENTION_DAYS"]["value"]) == ("7", "30")
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["backups"]["persistentVolumeClaim"] == {"claimName": "backups"}
    assert (env["S3_SSE"]["value"], env["BACKUP_RELEASE"]["value"]) == ("AES256", f"{NAMESPACE}.{RELEASE}")
    local = render({"backup": {"enabled": True, "persistence": {"existingClaim": "backups"}}})
    for name, args in (("backup", ["--local-only"]), ("restore-drill", ["--verify-only"])):
        (container,) = cronjob_containers(local, f"{RELEASE}-{name}")
        assert container["args"] == args, name


def cronjob_containers(manifests: Any, name: str) -> list[dict[str, Any]]:
    (cronjob,) = find(manifests, "CronJob", name)
    return list(cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"])


def test_staging_and_production_back_up_to_s3_encrypted_and_drill_weekly() -> None:
    for case in ("staging", "production"):
        manifests = rendered_case(case)
        (backup,) = cronjob_containers(manifests, f"{RELEASE}-backup")
        (drill,) = cronjob_containers(manifests, f"{RELEASE}-restore-drill")
        env = {item["name"]: item.get("value") for item in backup["env"]}
        assert env["S3_BUCKET_NAME"] and env["S3_SSE"] in ("AES256", "aws:kms") and "args" not in backup, case
        assert drill["command"] == ["/app/restore.sh"] and drill["args"] == ["--verify-only", "--from-s3"], case
        assert {item["name"]: item.get("value") for item in drill["env"]} == env, case
        (schedule,) = [c["spec"]["schedule"] for c in find(manifests, "CronJob", f"{RELEASE}-restore-drill")]
        assert schedule.split()[2:] == ["*", "*", "0"], f"{case}: the drill runs weekly"
    # IRSA: a ServiceAccount of the backup's own carries the role; SSE-KMS names its key.
    values = {
        **BACKUP,
        "backup": {
            **BACKUP["backup"],
            "s3": {
                "bucket": "rooms-kms",
                "sse": "aws:kms",
                "kmsKeyId": "k-1",
                "roleArn": "arn:aws:iam::123456789012:role/backup",
            },
        },
    }
    manifests = render(values)
    (account,) = find(manifests, "ServiceAccount", f"{RELEASE}-backup")
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/backup"}
    for name in ("backup", "restore-drill"):
        (cronjob,) = find(manifests, "CronJob", f"{RELEASE}-{name}")
        assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"] == f"{RELEASE}-backup"
    env = {item["name"]: item.get("value") for item in cronjob_containers(manifests, f"{RELEASE}-backup")[0]["env"]}
    assert (env["S3_SSE"], env["S3_SSE_KMS_KEY_ID"]) == ("aws:kms", "k-1")


def test_the_backup_image_carries_the_chart_servers_postgresql_major() -> None:
    dockerfile = (ROOT / "scripts" / "backup" / "Dockerfile").read_text()
    client = re.search(r"ARG BASE_IMAGE=docker.io/library/postgres:(\d+)\.", dockerfile)
    assert client, "the backup image's base names its PostgreSQL version"
    server = str(values_file("values.yaml")["postgresql"]["image"]["tag"]).split(".")[0]
    assert client.group(1) == server and f"PG_BIN=/usr/lib/postgresql/{server}/bin" in dockerfile


# --- Monitoring ---------------------------------------------------------------------------------

MONITORING_COMPONENTS = {"loki", "alloy", "grafana", "fluent-bit", "cloudwatch-setup"}


def components(manifests: Any) -> set[str]:
    return {m["metadata"]["labels"]["app.kubernetes.io/component"] for m in manifests}


def test_monitoring_is_off_by_default_and_in_development_and_on_in_production() -> None:
    for case in ("default", "development", "staging"):
        assert not components(rendered_case(case)) & MONITORING_COMPONENTS, case
    prod = rendered_case("production")
    # CloudWatch is asked for, but without credentials it stays off (never a Job that cannot succeed).
    assert values_file("values-production.yaml")["monitoring"]["cloudwatch"]["enabled"] is True
    assert components(prod) >= MONITORING_COMPONENTS - {"fluent-bit", "cloudwatch-setup"}
    assert not components(prod) & {"fluent-bit", "cloudwatch-setup"}
    (loki,) = find(prod, "StatefulSet", f"{RELEASE}-loki")
    assert loki["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert find(prod, "DaemonSet", f"{RELEASE}-alloy")
    (grafana,) = find(prod, "Deployment", f"{RELEASE}-grafana")
    env = {e["name"]: e for e in grafana["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "meeting-room-system-grafana",
        "key": "admin-password",
    }
    # Only Loki: no Grafana without its data source, no Alloy without a Loki to push to.
    alone = render({"monitoring": {"enabled": True, "loki": {"enabled": False}}})
    assert not components(alone) & MONITORING_COMPONENTS


def test_grafana_is_provisioned_with_loki_the_dashboards_and_alerts_to_the_admins() -> None:
    manifests = rendered_case("monitoring")
    provisioning = find(manifests, "ConfigMap", f"{RELEASE}-grafana-provisioning")[0]["data"]
    files = {name: yaml.safe_load(text) for name, text in provisioning.items()}
    (datasource,) = files["datasources.yaml"]["datasources"]
    assert datasource["uid"] == "loki" and datasource["url"] == f"http://{RELEASE}-loki:3100"
    assert files["alert-rules.yaml"] == yaml.safe_load((CHART / "files/grafana/alerting/rules.yaml").read_text())
    (contact,) = files["contact-points.yaml"]["contactPoints"]
    assert contact["receivers"][0]["settings"]["addresses"] == "ops@example.com;admin@example.com"
    assert files["contact-points.yaml"]["policies"][0]["receiver"] == contact["name"]
    dashboards = find(manifests, "ConfigMap", f"{RELEASE}-grafana-dashboards")[0]["data"]
    titles = {json.loads(text)["title"] for text in dashboards.values()}
    assert titles == {"Kubernetes Logs", "Service Logs", "Error Tracking", "Operations"}
    (secret,) = [s for s in find(manifests, "Secret") if s["metadata"]["name"] == f"{RELEASE}-grafana"]
    assert len(base64.b64decode(secret["data"]["admin-password"])) >= 32
    (grafana,) = find(manifests, "Deployment", f"{RELEASE}-grafana")
    items = {
        i["path"]
        for v in grafana["spec"]["template"]["spec"]["volumes"]
        for i in v.get("configMap", {}).get("items", [])
    }
    assert {"datasources/loki.yaml", "dashboards/meeting-room-system.yaml", "alerting/rules.yaml"} <= items
    assert "alerting/contact-points.yaml" in items
    # Alerts must reach a person: with nobody to mail and no webhook, the schema refuses the values.
    with pytest.raises(helm.HelmError, match="schema"):
        render({**MONITORING, "config": {"adminEmails": []}})
    with pytest.raises(helm.HelmError, match="schema"):  # addresses, but no SMTP server to send through
        render(
            {**MONITORING, "monitoring": {**MONITORING["monitoring"], "grafana": {"persistence": {"enabled": False}}}}
        )


def test_alerts_can_go_to_a_webhook_whose_url_stays_in_a_secret() -> None:
    hook = {"alerting": {"webhook": {"existingSecret": "alert-hook"}}, "persistence": {"enabled": False}}
    manifests = render({"monitoring": {"enabled": True, "grafana": hook, "loki": {"persistence": {"enabled": False}}}})
    provisioning = find(manifests, "ConfigMap", f"{RELEASE}-grafana-provisioning")[0]["data"]
    (contact,) = yaml.safe_load(provisioning["contact-points.yaml"])["contactPoints"]
    assert contact["receivers"] == [
        {"uid": "admins-webhook", "type": "webhook", "settings": {"url": "$ALERT_WEBHOOK_URL", "httpMethod": "POST"}}
    ]
    (grafana,) = find(manifests, "Deployment", f"{RELEASE}-grafana")
    env = {e["name"]: e for e in grafana["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ALERT_WEBHOOK_URL"]["valueFrom"]["secretKeyRef"] == {"name": "alert-hook", "key": "url"}
    # Production: e-mail through the SMTP relay to the on-call address.
    prod = find(rendered_case("production"), "ConfigMap", f"{RELEASE}-grafana-provisioning")[0]["data"]
    (contact,) = yaml.safe_load(prod["contact-points.yaml"])["contactPoints"]
    assert [(r["type"], r["settings"].get("addresses")) for r in contact["receivers"]] == [("email", "ops@example.com")]


def test_alloy_ships_to_the_chart_loki_with_the_repository_config() -> None:
    manifests = rendered_case("monitoring")
    config = find(manifests, "ConfigMap", f"{RELEASE}-alloy")[0]["data"]["config.alloy"]
    assert config.rstrip("\n") == (CHART / "files/alloy/config.alloy").read_text().rstrip("\n")
    (daemonset,) = find(manifests, "DaemonSet", f"{RELEASE}-alloy")
    env = {e["name"]: e for e in daemonset["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["LOKI_PUSH_URL"]["value"] == f"http://{RELEASE}-loki:3100/loki/api/v1/push"
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    # The release's namespace only, by default: a Role, and Alloy told which namespace to watch.
    assert env["ALLOY_NAMESPACE"]["value"] == NAMESPACE
    assert not find(manifests, "ClusterRole") and not find(manifests, "ClusterRoleBinding")
    (role,) = find(manifests, "Role")
    (binding,) = find(manifests, "RoleBinding")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == NAMESPACE
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{RELEASE}-alloy"}
    assert 'names = [sys.env("ALLOY_NAMESPACE")]' in config
    for check in (role, *find(render_all_namespaces(), "ClusterRole")):
        assert {r for rule in check["rules"] for r in rule["resources"]} == {"pods", "pods/log"}
        assert {v for rule in check["rules"] for v in rule["verbs"]} <= {"get", "list", "watch"}
    everywhere = render_all_namespaces()
    assert find(everywhere, "ClusterRoleBinding") and not find(everywhere, "Role")
    (daemonset,) = find(everywhere, "DaemonSet", f"{RELEASE}-alloy")
    env = {e["name"]: e for e in daemonset["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ALLOY_NAMESPACE"]["value"] == ""  # every namespace


def render_all_namespaces() -> list[Manifest]:
    monitoring = {**MONITORING["monitoring"], "alloy": {"allNamespaces": True}}
    return render({**MONITORING, "monitoring": monitoring})


def cloudwatch_pods(manifests: Any) -> list[dict[str, Any]]:
    return [
        spec
        for manifest, spec in pod_specs(manifests)
        if manifest["metadata"]["labels"]["app.kubernetes.io/component"] in ("fluent-bit", "cloudwatch-setup")
    ]


def test_cloudwatch_needs_an_explicit_enabled_and_credentials() -> None:
    prod = values_file("values-production.yaml")
    assert not cloudwatch_pods(rendered_case("production"))
    notes = helm_notes(prod)
    assert "CloudWatch is OFF" in notes
    # monitoring.enabled alone never turns it on.
    grafana = MONITORING["monitoring"]["grafana"]
    assert not cloudwatch_pods(render({**MONITORING, "monitoring": {"enabled": True, "grafana": grafana}}))
    # IRSA: a ServiceAccount of its own, annotated with the role; no keys anywhere.
    role = "arn:aws:iam::123456789012:role/rooms-cloudwatch"
    irsa = render({**prod, "monitoring": {**prod["monitoring"], "cloudwatch": {"enabled": True, "roleArn": role}}})
    (account,) = find(irsa, "ServiceAccount", f"{RELEASE}-cloudwatch")
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role}
    pods = cloudwatch_pods(irsa)
    assert len(pods) == 2
    for spec in pods:
        assert spec["serviceAccountName"] == f"{RELEASE}-cloudwatch"
        env = {e["name"] for c in spec["containers"] for e in c.get("env", [])}
        assert "AWS_ACCESS_KEY_ID" not in env
    assert "CloudWatch is OFF" not in helm_notes({**prod, "monitoring": {"cloudwatch": {"roleArn": role}}})
    # Keys from a Secret work too; a ServiceAccount of one's own is used as it is.
    keys = cloudwatch_pods(rendered_case("monitoring"))
    assert len(keys) == 2 and all(s["serviceAccountName"] == RELEASE for s in keys)
    own = render(
        {
            **MONITORING,
            "monitoring": {**MONITORING["monitoring"], "cloudwatch": {"enabled": True, "serviceAccountName": "logs"}},
        }
    )
    assert {s["serviceAccountName"] for s in cloudwatch_pods(own)} == {"logs"}


def helm_notes(values: dict[str, Any]) -> str:
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values=values, name=RELEASE, namespace=NAMESPACE)
    return next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))


def test_cloudwatch_job_runs_the_repository_script_for_the_log_group_and_the_admins() -> None:
    # The script exists once: the backup image carries it (tests/test_images_run.py runs it there).
    assert not (CHART / "files/cloudwatch_setup.py").exists()
    copied = "COPY --chown=root:root scripts/monitoring/cloudwatch_setup.py /app/scripts/monitoring/"
    assert copied in (ROOT / "scripts/backup/Dockerfile").read_text()
    manifests = rendered_case("monitoring")
    (job,) = [j for j in find(manifests, "Job") if "cloudwatch-setup" in j["metadata"]["name"]]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:3] == ["/opt/venv/bin/python", "-m", "scripts.monitoring.cloudwatch_setup"]
    assert "--log-group=meeting-room-reservation-system" in container["command"]
    assert f"--environment={NAMESPACE}" in container["command"]  # no environment given: the namespace
    assert {"--alarm-email=ops@example.com", "--alarm-email=admin@example.com"} <= set(container["command"])
    assert container["image"].startswith("docker.io/meetingroomsystem/backup:")
    assert container["workingDir"] == "/app" and not find(manifests, "ConfigMap", f"{RELEASE}-cloudwatch-setup")
    conf = find(manifests, "ConfigMap", f"{RELEASE}-fluent-bit")[0]["data"]["fluent-bit.conf"]
    assert f"Path              /var/log/containers/*_{NAMESPACE}_*.log" in conf
    assert (
        f"log_group_name      meeting-room-reservation-system/{NAMESPACE}" in conf and "log_key             log" in conf
    )
    # Production: its environment in every name, and the topic's subscriptions from values.
    prod = values_file("values-production.yaml")
    keys = {"existingSecret": "aws", "enabled": True}
    manifests = render(
        {**prod, "monitoring": {**prod["monitoring"], "cloudwatch": {**prod["monitoring"]["cloudwatch"], **keys}}}
    )
    (job,) = [j for j in find(manifests, "Job") if "cloudwatch-setup" in j["metadata"]["name"]]
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "--environment=production" in command and "--subscribe=email:ops@example.com" in command
    assert not [argument for argument in command if argument.startswith("--alarm-email")]
    conf = find(manifests, "ConfigMap", f"{RELEASE}-fluent-bit")[0]["data"]["fluent-bit.conf"]
    assert "log_group_name      meeting-room-reservation-system/production" in conf
    with pytest.raises(helm.HelmError, match="Pod Security"):
        render({**MONITORING, "namespace": {"create": True}})


@pytest.mark.parametrize("case", ["default", "production"])
def test_service_pods_are_annotated_for_prometheus_on_their_metrics_port(case: str) -> None:
    workers = [d for d in find(rendered_case(case), "Deployment") if "-service-" in d["metadata"]["name"]]
    assert len(workers) == 8
    for deployment in workers:
        template = deployment["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        ports = {p["name"]: p["containerPort"] for p in template["spec"]["containers"][0]["ports"]}
        assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
        assert int(annotations["prometheus.io/port"]) == ports.get("http", ports.get("health"))


def test_gateway_config_is_the_shared_template_rendered_like_development() -> None:
    """The chart fills files/nginx.conf exactly as scripts/render_gateway.py does for `make run`; the two
    Kubernetes-only settings (workers from the CPU limit, the client address behind the Ingress) are
    the only difference."""
    manifests = render(
        {
            "nginx": {
                "authRateLimit": {"rate": "600r/m", "burst": 7},
                "resources": {"limits": {"cpu": "1500m", "memory": "128Mi"}},
                "realIp": {"header": "X-Forwarded-For", "trustedProxies": ["10.244.0.0/16", "fd00::/8"]},
            }
        }
    )
    conf = find(manifests, "ConfigMap", f"{RELEASE}-gateway")[0]["data"]["nginx.conf"]
    expected = render_gateway_module().render(
        (CHART / "files" / "nginx.conf").read_text(),
        {
            "LISTEN_PORT": "8080",
            "USER_UPSTREAM": f"{RELEASE}-user-service:5000",
            "ROOM_UPSTREAM": f"{RELEASE}-room-service:5001",
            "RESERVATION_UPSTREAM": f"{RELEASE}-reservation-service:5002",
            "AUTH_RATE": "600r/m",
            "AUTH_BURST": "7",
            "RUN_DIR": "/tmp",  # noqa: S108 (inside the container)
            "ACCESS_LOG": "/dev/stdout",
            "ERROR_LOG": "/dev/stderr",
            "STATIC_ROOT": "/srv/meeting-rooms/web",
        },
    )
    assert "\nworker_processes auto;\n" in expected and "\nhttp {\n" in expected
    expected = expected.replace("\nworker_processes auto;\n", "\nworker_processes 2;\n").replace(
        "\nhttp {\n",
        "\nhttp {\n    # Client address behind the Ingress (chart values nginx.realIp).\n"
        "    real_ip_header X-Forwarded-For;\n    set_real_ip_from 10.244.0.0/16;\n    set_real_ip_from fd00::/8;\n",
    )
    assert conf.rstrip("\n") == expected.rstrip("\n")
    (service,) = find(manifests, "Service", f"{RELEASE}-gateway")
    assert service["spec"]["ports"][0]["port"] == 80


# --- values.schema.json and README ------------------------------------------------------------

BAD_VALUES = {
    "unknown top-level key": {"replicas": 3},
    "imageTag with a space": {"imageTag": "v1 beta"},
    "pull policy": {"image": {"pullPolicy": "Sometimes"}},
    "zero web replicas": {"userService": {"web": {"replicaCount": 0}}},
    "autoscaling target": {"roomService": {"web": {"autoscaling": {"targetCPUUtilizationPercentage": 150}}}},
    "resource quantity": {"reservationService": {"web": {"resources": {"limits": {"memory": "lots"}}}}},
    "database name": {"userService": {"database": {"name": "user-db; DROP"}}},
    "env name": {"roomService": {"env": {"bad-name": "x"}}},
    "log level": {"config": {"logLevel": "LOUD"}},
    "admin e-mail": {"config": {"adminEmails": ["not-an-email"]}},
    "token lifetime": {"config": {"accessTokenTtlSeconds": 5}},
    "signing key": {"secrets": {"jwtSigningKey": "hunter2"}},
    "rate limit": {"nginx": {"authRateLimit": {"rate": "fast"}}},
    "service port": {"nginx": {"service": {"port": 70000}}},
    "service type": {"nginx": {"service": {"type": "Magic"}}},
    "ingress host": {"ingress": {"enabled": True, "host": "Not A Host"}},
    "volume size": {"postgresql": {"persistence": {"size": "big"}}},
    "sslmode": {"externalDatabase": {"sslmode": "maybe"}},
    "external database without host": {"postgresql": {"enabled": False}},
    "external kafka without servers": {"kafka": {"enabled": False}},
    "kafka cluster id": {"kafka": {"clusterId": "short"}},
    "kafka brokers": {"kafka": {"replicaCount": 0}},
    "no topics": {"kafka": {"provisioning": {"topics": []}}},
    "privilege escalation": {"containerSecurityContext": {"allowPrivilegeEscalation": True}},
    "root pods": {"podSecurityContext": {"runAsNonRoot": False}},
    "namespace.create type": {"namespace": {"create": "yes"}},
    "unknown backup key": {"backup": {"enabled": True, "bucket": "x"}},
    "backup schedule": {"backup": {"schedule": "every night"}},
    "backup retention": {"backup": {"retention": {"localDays": -1}}},
    "backup deadline": {"backup": {"activeDeadlineSeconds": 0}},
    "backup bucket": {"backup": {"s3": {"bucket": "Not_A_Bucket"}}},
    "backup resources": {"backup": {"resources": {"limits": {"cpu": "lots"}}}},
    "backup with no lasting destination": {"backup": {"enabled": True}},
    "backup encryption": {"backup": {"s3": {"sse": "none"}}},
    "drill schedule": {"backup": {"drill": {"schedule": "weekly-ish"}}},
}


@pytest.mark.parametrize("bad", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_schema_rejects_bad_values(bad: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmError, match="schema"):
        render(bad)


@pytest.mark.parametrize("case", [c for c in CASES if c != "default"])
def test_schema_accepts_every_shipped_values_file(case: str) -> None:
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(chart.merge_values(case_values(case)))


# Keys whose value is a Kubernetes object (or a free-form map) are documented as a whole.
OPAQUE = {
    "resources",
    "podSecurityContext",
    "containerSecurityContext",
    "labels",
    "annotations",
    "env",
    "metricsNamespaceSelector",
}


def leaf_keys(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and key not in OPAQUE:
            yield from leaf_keys(value, f"{path}.")
        else:
            yield path


def test_readme_documents_every_value_and_only_real_ones() -> None:
    readme = (CHART / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Za-z0-9_.]+)` \|", readme, re.M))
    leaves = set(leaf_keys(values_file("values.yaml")))
    assert leaves - documented == set(), "undocumented values"
    assert documented - leaves == set(), "README documents keys values.yaml lacks"
    annotated = set(re.findall(r"## @param (\S+)", (CHART / "values.yaml").read_text()))
    assert annotated == leaves, "every value carries a ## @param line"


# --- Restarts, shutdown, gateway workers, network policies ----------------------------------------


def service_pod_templates(manifests: Any) -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]
        for d in find(manifests, "Deployment")
        if "-service-" in d["metadata"]["name"]
    }


@pytest.mark.parametrize("case", ["default", "production"])
def test_pods_restart_when_their_config_or_secrets_change(case: str) -> None:
    values = case_values(case)
    before = service_pod_templates(render(values))
    assert len(before) == 8
    for template in before.values():
        assert {"checksum/config", "checksum/secrets"} <= set(template["metadata"]["annotations"])
    changed = service_pod_templates(render({**values, "config": {**values.get("config", {}), "logLevel": "ERROR"}}))
    for name, template in changed.items():
        assert (
            template["metadata"]["annotations"]["checksum/config"]
            != (before[name]["metadata"]["annotations"]["checksum/config"])
        )
    # A chart-managed Secret is hashed by its inputs: generated values (new each render) change nothing...
    assert service_pod_templates(render(values)) == before
    # ... a given one does.
    secrets = {**values.get("secrets", {}), "databasePasswords": {"userService": "a-new-password-for-the-test"}}
    rotated = service_pod_templates(render({**values, "secrets": secrets}))
    sums = {name: t["metadata"]["annotations"]["checksum/secrets"] for name, t in rotated.items()}
    if case == "default":
        assert all(sums[name] != before[name]["metadata"]["annotations"]["checksum/secrets"] for name in sums)


def keepalive_timeout() -> int:
    conf = (CHART / "files" / "nginx.conf").read_text()
    upstream = re.findall(r"upstream \w+ \{[^}]*keepalive_timeout (\d+)s;", conf)
    assert upstream
    return max(int(t) for t in upstream)


@pytest.mark.parametrize("case", ["default", "production"])
def test_web_and_gateway_pods_drain_longer_than_the_gateway_keepalive(case: str) -> None:
    manifests = rendered_case(case)
    names = [f"{RELEASE}-{s}-web" for s in ("user-service", "room-service", "reservation-service")]
    names.append(f"{RELEASE}-gateway")
    for name in names:
        (deployment,) = find(manifests, "Deployment", name)
        spec = deployment["spec"]["template"]["spec"]
        pause = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pause > keepalive_timeout(), name
        assert spec["terminationGracePeriodSeconds"] >= pause + 20, name


def test_gateway_workers_follow_the_cpu_limit() -> None:
    def workers(cpu: str) -> str:
        manifests = render({"nginx": {"resources": {"limits": {"cpu": cpu, "memory": "128Mi"}}}})
        conf = find(manifests, "ConfigMap", f"{RELEASE}-gateway")[0]["data"]["nginx.conf"]
        match = re.search(r"^worker_processes (\S+);$", conf, re.M)
        assert match
        return match.group(1)

    assert [workers(cpu) for cpu in ("500m", "1", "1500m", "2", "3.5")] == ["1", "1", "2", "2", "4"]


def test_the_gateway_trusts_only_the_configured_proxies_for_the_client_address() -> None:
    conf = find(rendered_case("production"), "ConfigMap", f"{RELEASE}-gateway")[0]["data"]["nginx.conf"]
    assert "real_ip_header X-Forwarded-For;" in conf
    assert re.findall(r"set_real_ip_from (\S+);", conf) == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
    direct = render({"nginx": {"realIp": {"header": "X-Forwarded-For", "trustedProxies": []}}})
    conf = find(direct, "ConfigMap", f"{RELEASE}-gateway")[0]["data"]["nginx.conf"]
    assert not re.search(r"^\s*(real_ip_header|set_real_ip_from) ", conf, re.M)


def pod_labels(manifests: Any) -> dict[str, dict[str, str]]:
    return {
        m["metadata"]["name"]: (
            m["spec"]["jobTemplate"]["spec"]["template"] if m["kind"] == "CronJob" else m["spec"]["template"]
        )["metadata"]["labels"]
        for m in manifests
        if m["kind"] in (*WORKLOADS, "CronJob")
    }


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def allowed(manifests: Any, source: str, target: str, port: int) -> bool:
    """May Pods of workload SOURCE connect to PORT of workload TARGET (same namespace)?"""
    labels = pod_labels(manifests)
    policies = [p for p in find(manifests, "NetworkPolicy") if selects(p["spec"]["podSelector"], labels[target])]
    if not policies:
        return True
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            if port not in [p["port"] for p in rule.get("ports", [])]:
                continue
            peers = rule.get("from")
            if peers is None or any("podSelector" in p and selects(p["podSelector"], labels[source]) for p in peers):
                return True
    return False


def test_network_policies_are_on_in_staging_and_production_only() -> None:
    for case in ("default", "development"):
        assert not find(rendered_case(case), "NetworkPolicy"), case
    for case in ("staging", "production"):
        assert len(find(rendered_case(case), "NetworkPolicy")) == 7, case


def test_network_policies_let_only_the_gateway_reach_the_web_and_only_the_services_their_backends() -> None:
    manifests = [*rendered_case("production"), *render({**case_values("production"), **BACKUP})]
    manifests = list({(m["kind"], m["metadata"]["name"]): m for m in manifests}.values())
    gateway, room_web, user_web = (f"{RELEASE}-{n}" for n in ("gateway", "room-service-web", "user-service-web"))
    relay, consumer = f"{RELEASE}-reservation-service-relay", f"{RELEASE}-reservation-service-consumer"
    postgres, kafka, grafana = f"{RELEASE}-postgresql", f"{RELEASE}-kafka", f"{RELEASE}-grafana"
    jobs = {j["metadata"]["name"].rsplit("-", 1)[0]: j["metadata"]["name"] for j in find(manifests, "Job")}
    assert allowed(manifests, gateway, room_web, 5001)
    assert not allowed(manifests, grafana, room_web, 5001) and not allowed(manifests, relay, room_web, 5001)
    assert allowed(manifests, room_web, user_web, 5000)  # the token keys
    assert not allowed(manifests, gateway, relay, 9000)
    for service in (room_web, relay, consumer, jobs[f"{RELEASE}-create-databases"], f"{RELEASE}-backup"):
        assert allowed(manifests, service, postgres, 5432), service
    assert not allowed(manifests, gateway, postgres, 5432) and not allowed(manifests, grafana, postgres, 5432)
    for service in (relay, consumer, jobs[f"{RELEASE}-create-topics"]):
        assert allowed(manifests, service, kafka, 9092), service
    assert allowed(manifests, kafka, kafka, 9093) and not allowed(manifests, room_web, kafka, 9093)
    assert not allowed(manifests, gateway, kafka, 9092)
    assert allowed(manifests, grafana, gateway, 8080)  # from anywhere, unless gatewayFrom says otherwise
    # Metrics: only from the monitoring namespace.
    (web_policy,) = [p for p in find(manifests, "NetworkPolicy") if p["metadata"]["name"].endswith("room-service-web")]
    namespaces = [p["namespaceSelector"] for p in web_policy["spec"]["ingress"][0]["from"] if "namespaceSelector" in p]
    assert namespaces == [{"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}]


# --- Prometheus Operator: ServiceMonitors and the alert rules -------------------------------------


def test_prometheus_operator_objects_come_only_with_their_switch_and_cover_every_process() -> None:
    for case in CASES:
        assert not find(rendered_case(case), "ServiceMonitor") and not find(rendered_case(case), "PrometheusRule")
    values = {**values_file("values-production.yaml")}
    values["monitoring"] = {
        **values["monitoring"],
        "prometheusOperator": {"enabled": True, "labels": {"release": "kps"}},
    }
    manifests = render(values)
    (rule,) = find(manifests, "PrometheusRule", f"{RELEASE}-alerts")
    assert rule["spec"] == yaml.safe_load((CHART / "files" / "prometheus" / "alerts.yaml").read_text())
    (monitor,) = find(manifests, "ServiceMonitor", f"{RELEASE}-services")
    assert monitor["metadata"]["labels"]["release"] == "kps" and rule["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/component"  # job="room-service-web", as the rules read
    selected = set(monitor["spec"]["selector"]["matchExpressions"][0]["values"])
    ports = {endpoint["port"] for endpoint in monitor["spec"]["endpoints"]}
    for deployment in find(manifests, "Deployment"):
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        if "-service-" not in deployment["metadata"]["name"]:
            continue
        assert component in selected, component
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        (port,) = container["ports"]
        assert port["name"] in ports
        # Exactly one Service of that component exposes the port by that name.
        services = [
            s
            for s in find(manifests, "Service")
            if s["spec"]["selector"].get("app.kubernetes.io/component") == component
            and any(p["targetPort"] == port["name"] for p in s["spec"]["ports"])
        ]
        assert len(services) == 1, component
