"""The table manifest: every table's row count and checksum, taken in the snapshot pg_dump dumps.

A backup dumps each database inside a repeatable-read transaction that has exported its snapshot
(pg_dump --snapshot), and counts and hashes the tables in that same transaction: the manifest
describes exactly what the dump holds, so a restore drill that finds other numbers found a real
difference, never a write that happened between two reads.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions
from failure import Failure
from psycopg2 import sql

FORMAT = "meeting-rooms/table-manifest/1"
# Row text depends on these; both sides of a comparison use them.
SESSION = (
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres';"
    " SET extra_float_digits = 3; SET bytea_output = 'hex'"
)
TABLES = """
    SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
    ORDER BY 1, 2
"""
# Order-independent and constant in memory: the sum of each row's hash (its first 64 bits, signed).
CHECKSUM = (
    "SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)::bigint::numeric), 0)::text FROM {} t"
)


class TableFailure(Failure):
    """A database problem while counting, dumping or comparing."""


def table_stats(connection: psycopg2.extensions.connection) -> dict[str, dict[str, Any]]:
    """{"schema.table": {"rows": n, "checksum": "..."}} for every table, in the connection's transaction."""
    stats = {}
    with connection.cursor() as cursor:
        cursor.execute(SESSION)
        cursor.execute(TABLES)
        for schema, table in cursor.fetchall():
            cursor.execute(sql.SQL(CHECKSUM).format(sql.Identifier(schema, table)))
            rows, checksum = one(cursor)
            stats[f"{schema}.{table}"] = {"rows": rows, "checksum": checksum}
    return stats


def one(cursor: psycopg2.extensions.cursor) -> tuple[Any, ...]:
    row = cursor.fetchone()
    if row is None:
        raise TableFailure("the query returned no row")
    return tuple(row)


def client_for(pg_bin: str, server_major: int) -> str:
    """The pg_dump of the server's major version: PG_BIN's when it matches, else the one installed beside it
    (/usr/lib/postgresql/<major>/bin); an older client cannot dump a newer server, so that is refused here."""
    candidates = [Path(pg_bin) / "pg_dump", Path(f"/usr/lib/postgresql/{server_major}/bin/pg_dump")]
    for candidate in candidates:
        if candidate.is_file() and client_major(candidate) == server_major:
            return str(candidate)
    found = client_major(candidates[0]) if candidates[0].is_file() else None
    raise TableFailure(
        f"the server runs PostgreSQL {server_major}, and no pg_dump {server_major} is installed"
        f" ({candidates[0]} is {found or 'missing'}): install postgresql-client-{server_major} or set PG_BIN"
    )


def client_major(pg_dump: Path) -> int:
    """15 for "pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"."""
    output = subprocess.run([str(pg_dump), "--version"], capture_output=True, text=True, check=True).stdout
    return int(output.split(")", 1)[1].strip().split(".")[0].split()[0])


def dump(conninfo: str, pg_bin: str, out: Path, stats_out: Path) -> int:
    """pg_dump -Fc -Z0 of the database, gzipped into `out`, and its table stats into `stats_out`; the table count."""
    try:
        connection = psycopg2.connect(conninfo)
    except psycopg2.Error as error:
        raise TableFailure(f"cannot connect: {str(error).strip()}") from error
    try:
        connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version_num')::int / 10000")
            snapshot, server_major = one(cursor)
        pg_dump = client_for(pg_bin, server_major)
        stats = table_stats(connection)
        with out.open("wb") as target:
            dumper = subprocess.Popen(
                [pg_dump, "-Fc", "-Z0", f"--snapshot={snapshot}", "-d", conninfo],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            gzipper = subprocess.run(["gzip", "-c"], stdin=dumper.stdout, stdout=target, check=False)
            _, errors = dumper.communicate()
        if dumper.returncode != 0 or gzipper.returncode != 0:
            raise TableFailure(f"pg_dump failed: {errors.decode(errors='replace').strip()}")
        connection.rollback()
    except psycopg2.Error as error:
        raise TableFailure(str(error).strip()) from error
    finally:
        connection.close()
    stats_out.write_text(json.dumps(stats, indent=1, sort_keys=True))
    return len(stats)


def merge(timestamp: str, parts: dict[str, Path], out: Path) -> None:
    """One table manifest for the set, from each database's stats file."""
    databases = {name: json.loads(path.read_text()) for name, path in sorted(parts.items())}
    out.write_text(json.dumps({"format": FORMAT, "timestamp": timestamp, "databases": databases}, indent=1) + "\n")


def verify(conninfo: str, manifest: Path, database: str) -> list[str]:
    """Differences between a restored database and the manifest's tables for it (empty: identical)."""
    expected = json.loads(manifest.read_text())
    if expected.get("format") != FORMAT or database not in expected.get("databases", {}):
        raise TableFailure(f"{manifest.name} holds no tables for {database}")
    try:
        connection = psycopg2.connect(conninfo)
        try:
            actual = table_stats(connection)
        finally:
            connection.close()
    except psycopg2.Error as error:
        raise TableFailure(str(error).strip()) from error
    wanted: dict[str, dict[str, Any]] = expected["databases"][database]
    problems = [f"{table}: missing" for table in sorted(set(wanted) - set(actual))]
    problems += [f"{table}: not in the manifest" for table in sorted(set(actual) - set(wanted))]
    for table in sorted(set(wanted) & set(actual)):
        have, want = actual[table], wanted[table]
        if have["rows"] != want["rows"]:
            problems.append(f"{table}: {have['rows']} rows, the manifest says {want['rows']}")
        elif have["checksum"] != want["checksum"]:
            problems.append(f"{table}: checksum {have['checksum']}, the manifest says {want['checksum']}")
    return problems
