"""One active process among replicas (the relay; the scheduler when it lands): a PostgreSQL advisory lock.

The lock belongs to a database session, so it is released when PostgreSQL ends that session. A killed process's
socket is closed by its kernel and PostgreSQL notices at once; a dead host or a cut network closes nothing, and
a hung process's kernel still acknowledges every packet. The lock session therefore asks the server to end it
by itself: TCP keepalives and a TCP user timeout for a silent peer, and `idle_session_timeout` for a holder that
stopped issuing statements. The holder must touch its connection (any statement) more often than
`dead_after_s`; the standby retries every `poll_s`, so it takes over within about `dead_after_s + poll_s`.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import psycopg2
import psycopg2.extensions

from servicekit.settings import ConfigError, Env

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaderConfig:
    poll_s: float = 1.0  # how often a standby tries the lock
    dead_after_s: int = 10  # how long PostgreSQL keeps a silent or idle holder's session (and so its lock)

    @classmethod
    def from_env(cls, env: Env) -> LeaderConfig:
        config = cls(
            poll_s=env.number("LEADER_POLL_SECONDS", 1.0),
            dead_after_s=env.integer("LEADER_DEAD_AFTER_SECONDS", 10, minimum=4),
        )
        if not 0 < config.poll_s < config.dead_after_s:
            raise ConfigError("LEADER_POLL_SECONDS must be positive and below LEADER_DEAD_AFTER_SECONDS")
        return config

    def server_options(self) -> str:
        """Per-session server settings: keepalives fail a silent peer after about dead_after_s, the user timeout
        bounds unacknowledged data (keepalives pause while data is in flight), the idle timeout ends a hung
        holder's session. A holder stuck inside a transaction is left to the liveness probe."""
        interval = 2
        count = 3
        idle = max(1, self.dead_after_s - interval * count)
        settings = {
            "tcp_keepalives_idle": idle,
            "tcp_keepalives_interval": interval,
            "tcp_keepalives_count": count,
            "tcp_user_timeout": self.dead_after_s * 1000,
            "idle_session_timeout": self.dead_after_s * 1000,
        }
        return " ".join(f"-c {name}={value}" for name, value in settings.items())


def libpq_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg2://", "postgresql://", 1)


def advisory_key(name: str) -> int:
    return zlib.crc32(name.encode())


def connect_lock_session(database_url: str, config: LeaderConfig) -> psycopg2.extensions.connection:
    """A connection for holding the lock; the client keepalives also let us notice a vanished server."""
    return psycopg2.connect(
        libpq_dsn(database_url),
        connect_timeout=5,
        keepalives=1,
        keepalives_idle=max(1, config.dead_after_s // 2),
        keepalives_interval=2,
        keepalives_count=3,
        options=config.server_options(),
    )


def acquire(
    conn: psycopg2.extensions.connection,
    name: str,
    config: LeaderConfig,
    *,
    stopping: Callable[[], bool],
    sleep: Callable[[float], None],
    waiting: Callable[[], None] = lambda: None,
) -> bool:
    """Standby until the lock `name` is ours (True), or until `stopping()` (False); `waiting` runs each retry."""
    key = advisory_key(name)
    announced = False
    while not stopping():
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (key,))
            row = cur.fetchone()
        conn.commit()
        if row and row[0]:
            log.info("leadership acquired", extra={"lock": name})
            return True
        if not announced:
            log.info("standing by: another process holds the lock", extra={"lock": name})
            announced = True
        waiting()
        sleep(config.poll_s)
    return False
