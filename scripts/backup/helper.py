"""What the backup scripts do in Python: S3 through boto3, the Kafka topics through kafka-python, retention.

Run by backup.sh and restore.sh as `python scripts/backup/helper.py COMMAND ...`; settings come from the
environment they export (S3_BUCKET_NAME, S3_PREFIX, S3_ENDPOINT_URL, S3_SSE, S3_SSE_KMS_KEY_ID, AWS_*,
KAFKA_BOOTSTRAP_SERVERS, KAFKA_TOPIC_PREFIX, PG_BIN, PUSHGATEWAY_URL, BACKUP_RELEASE). Prints what it did on
stdout; exits 1 with one line on stderr when it fails.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from failure import Failure
from names import is_expired

# boto3, kafka-python and psycopg2 are imported by the commands that use them: each takes a third of a second.


def s3_check(args: argparse.Namespace) -> None:
    from s3_store import Store

    store = Store.from_env()
    print(f"target: {store.where}")
    for line in store.check():
        print(line)


def s3_upload(args: argparse.Namespace) -> None:
    from s3_store import Store

    store = Store.from_env()
    if store.ensure_bucket():
        print(f"created bucket {store.bucket}")
    for path in args.files:  # in the order given: backup.sh sends the manifest last
        print(f"uploaded s3://{store.bucket}/{store.upload(Path(path), args.timestamp)}")


def s3_prune(args: argparse.Namespace) -> None:
    from s3_store import Store

    store = Store.from_env()
    for key in store.prune(args.days, datetime.now(UTC)):
        print(f"removed s3://{store.bucket}/{key}")


def s3_latest(args: argparse.Namespace) -> None:
    from s3_store import Store

    print(Store.from_env().latest(args.kind, args.timestamp))


def s3_get(args: argparse.Namespace) -> None:
    from s3_store import Store

    Store.from_env().download(args.key, Path(args.destination))


def s3_list(args: argparse.Namespace) -> None:
    from s3_store import Store

    store = Store.from_env()
    for key, _ in sorted(store.objects(), key=lambda item: (item[1], item[0])):
        print(key)


def prune_local(args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    for folder in (Path(args.dir), Path(args.dir) / "kafka"):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and is_expired(path.name, args.days, now):
                path.unlink()
                print(f"removed {path}")


def kafka_export(args: argparse.Namespace) -> None:
    import kafka_topics

    servers, prefix = os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ.get("KAFKA_TOPIC_PREFIX", "")
    count = kafka_topics.export(servers, prefix, Path(args.out))
    print(f"{count} topic(s) from {servers}" + (f" starting with {prefix!r}" if prefix else ""))


def kafka_restore(args: argparse.Namespace) -> None:
    import kafka_topics

    for line in kafka_topics.restore(os.environ["KAFKA_BOOTSTRAP_SERVERS"], Path(args.file)):
        print(line)


def pg_dump(args: argparse.Namespace) -> None:
    import tables

    count = tables.dump(
        args.conninfo, os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"), Path(args.out), Path(args.stats)
    )
    print(f"{count} table(s) counted and hashed in the dump's snapshot")


def tables_merge(args: argparse.Namespace) -> None:
    import tables

    parts = dict(part.split("=", 1) for part in args.parts)
    tables.merge(args.timestamp, {name: Path(path) for name, path in parts.items()}, Path(args.out))


def tables_verify(args: argparse.Namespace) -> None:
    import tables

    problems = tables.verify(args.conninfo, Path(args.manifest), args.database)
    if problems:
        raise Failure(
            f"{args.database}: {len(problems)} difference(s) with {Path(args.manifest).name}: " + "; ".join(problems)
        )
    print(f"{args.database}: every table's row count and checksum match {Path(args.manifest).name}")


def report_result(args: argparse.Namespace) -> None:
    import report

    report.report(args.job, args.result == "success", args.timestamp, args.started, args.detail)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace], None]) -> argparse.ArgumentParser:
        sub = commands.add_parser(name)
        sub.set_defaults(handler=handler)
        return sub

    command("s3-check", s3_check)
    upload = command("s3-upload", s3_upload)
    upload.add_argument("--timestamp", required=True)
    upload.add_argument("files", nargs="+")
    command("s3-prune", s3_prune).add_argument("--days", type=int, required=True)
    latest = command("s3-latest", s3_latest)
    latest.add_argument("kind")
    latest.add_argument("--timestamp")
    get = command("s3-get", s3_get)
    get.add_argument("key")
    get.add_argument("destination")
    command("s3-list", s3_list)
    local = command("prune-local", prune_local)
    local.add_argument("--dir", required=True)
    local.add_argument("--days", type=int, required=True)
    command("kafka-export", kafka_export).add_argument("--out", required=True)
    command("kafka-restore", kafka_restore).add_argument("--file", required=True)
    dump = command("pg-dump", pg_dump)
    for name in ("--conninfo", "--out", "--stats"):
        dump.add_argument(name, required=True)
    merge = command("tables-merge", tables_merge)
    merge.add_argument("--timestamp", required=True)
    merge.add_argument("--out", required=True)
    merge.add_argument("parts", nargs="+", help="DATABASE=STATS_FILE")
    verify = command("tables-verify", tables_verify)
    for name in ("--conninfo", "--manifest", "--database"):
        verify.add_argument(name, required=True)
    result = command("report", report_result)
    result.add_argument("--job", choices=["backup", "restore-drill"], required=True)
    result.add_argument("--result", choices=["success", "failure"], required=True)
    result.add_argument("--timestamp", default="")
    result.add_argument("--started", type=float, required=True)
    result.add_argument("--detail", default="")
    return top


def main() -> int:
    args = parser().parse_args()
    try:
        args.handler(args)
    except (Failure, OSError) as error:
        print(f"{error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
