"""One active process among replicas (the relay, the scheduler): a PostgreSQL advisory lock.

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
from typing import TYPE_CHECKING

import psycopg2
import psycopg2.extensions
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from servicekit.dbadmin import libpq_dsn
from servicekit.health_server import Heartbeat
from servicekit.settings import ConfigError, Env
from servicekit.worker import Worker

if TYPE_CHECKING:
    from tenacity.wait import WaitBaseT

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
    """Standby until the lock `name` is ours (True), or until `stopping()` (False); `waiting` runs each turn.

    A poll at the fixed `poll_s`, not a retry (standing by is a replica's normal state, no error, and the takeover
    time `dead_after_s + poll_s` depends on the interval not growing), so it stays a plain loop."""
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


class LeaderWorker(Worker):
    """A worker of which one replica is active: it stands by until the lock `lock_name` is its own, then `lead`s
    until stopped. When one of `errors` interrupts it (the database, or what it leads with, went away), it lets
    the lock go with its session and starts over after `wait` (a tenacity wait; the attempts never run out)."""

    def __init__(
        self,
        name: str,
        lock_name: str,
        database_url: str,
        leader: LeaderConfig,
        heartbeat: Heartbeat,
        *,
        errors: tuple[type[BaseException], ...],
        wait: WaitBaseT,
    ) -> None:
        super().__init__(heartbeat)
        self.name = name
        self.lock_name = lock_name
        self.database_url = database_url
        self.leader = leader
        self.retrying = Retrying(
            retry=retry_if_exception_type(errors),
            wait=wait,
            stop=self.stopped,
            sleep=self.sleep,
            before_sleep=self._interrupted,
            retry_error_callback=lambda _state: None,  # stopped while retrying: nothing more to do
        )

    def lead(self, conn: psycopg2.extensions.connection) -> None:
        """The active replica's work, until stopped; touches `conn` more often than `leader.dead_after_s`."""
        raise NotImplementedError

    def interrupted(self, error: BaseException) -> None:
        """Called after an error interrupted the worker, before it waits to start over."""

    def run(self) -> None:
        while not self.stopping:
            self.retrying(self._stand_by_then_lead)

    def _stand_by_then_lead(self) -> None:
        if self.stopping:  # a stop came during the wait before this attempt
            return
        conn = connect_lock_session(self.database_url, self.leader)
        try:
            if acquire(
                conn,
                self.lock_name,
                self.leader,
                stopping=self.stopped,
                sleep=self.sleep,
                waiting=lambda: self.heartbeat.beat(active=False),
            ):
                self.lead(conn)
        finally:
            conn.close()

    def _interrupted(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            f"{self.name} interrupted, retrying",
            extra={"error": str(error), "retry_in_s": round(state.upcoming_sleep, 2)},
        )
        if error is not None:
            self.interrupted(error)
