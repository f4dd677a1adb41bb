"""Backup file names, their timestamps and the retention rule, shared by the local and the S3 copies."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

DATABASES = ("user_db", "room_db", "reservation_db")
TIMESTAMP_FORMAT = "%Y%m%d-%H%M%S"
# Everything backup.sh writes; nothing else is ever pruned.
ARTIFACT = re.compile(
    r"^(?P<kind>user_db|room_db|reservation_db|kafka-topics|manifest|tables)[_-](?P<ts>\d{8}-\d{6})"
    r"(?P<ext>\.sql\.gz|\.json\.gz|\.sha256|\.json)$"
)
EXTENSIONS = {"kafka-topics": ".json.gz", "manifest": ".sha256", "tables": ".json"}


def parse(name: str) -> tuple[str, datetime] | None:
    """The kind (a database, kafka-topics or manifest) and UTC time of a backup file name, or None."""
    match = ARTIFACT.match(name)
    if not match:
        return None
    kind, ext = match["kind"], match["ext"]
    separator = "_" if kind in DATABASES else "-"
    if ext != EXTENSIONS.get(kind, ".sql.gz") or name[len(kind)] != separator:
        return None
    try:
        when = datetime.strptime(match["ts"], TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    return kind, when


def file_name(kind: str, timestamp: str) -> str:
    if kind in DATABASES:
        return f"{kind}_{timestamp}.sql.gz"
    return f"{kind}-{timestamp}{EXTENSIONS[kind]}"


def is_expired(name: str, days: int, now: datetime) -> bool:
    """True for a backup file older than `days` (by the time in its name); 0 days keeps everything."""
    parsed = parse(name)
    return days > 0 and parsed is not None and now - parsed[1] > timedelta(days=days)


def date_folder(timestamp: str) -> str:
    """YYYY-MM/DD of a YYYYMMDD-HHMMSS timestamp: the S3 folder of that run."""
    return f"{timestamp[0:4]}-{timestamp[4:6]}/{timestamp[6:8]}"
