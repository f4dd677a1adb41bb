"""`python -m reservation_service scheduler`: releases no-shows. Several may run; one is active (an advisory
lock, as for the relay), the others stand by and take over when it dies."""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import psycopg2.extensions
import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlalchemy.orm import sessionmaker

from reservation_service.checkin.service import release_no_shows
from servicekit.health_server import Heartbeat, serve_health
from servicekit.leader import LeaderConfig, acquire, connect_lock_session
from servicekit.settings import ConfigError, Env, ServiceSettings

log = logging.getLogger(__name__)

RELEASED = Counter("scheduler_released_total", "No-shows released")
LAST_RUN = Gauge("scheduler_last_run_timestamp_seconds", "When the active scheduler last finished a pass")
ACTIVE = Gauge("scheduler_active", "1 while this process holds the scheduler lock")


@dataclass(frozen=True)
class SchedulerConfig:
    poll_s: float = 15.0  # a no-show is released within this (plus one pass) of its deadline
    leader: LeaderConfig = field(default_factory=LeaderConfig)

    @classmethod
    def from_env(cls, env: Env) -> SchedulerConfig:
        config = cls(poll_s=env.number("SCHEDULER_POLL_SECONDS", 15.0), leader=LeaderConfig.from_env(env))
        if not 0 < config.poll_s <= 45:
            raise ConfigError("SCHEDULER_POLL_SECONDS must be above 0 and at most 45 (releases are due within 60 s)")
        return config


class Scheduler:
    def __init__(self, service: ServiceSettings, config: SchedulerConfig) -> None:
        self.service = service
        self.config = config
        self.engine = sa.create_engine(service.database_url, **service.engine_options())
        self.sessions = sessionmaker(self.engine)
        self.heartbeat = Heartbeat(max_silence_s=max(60.0, 4 * config.poll_s))
        self.stopping = False

    def stop(self, *_: Any) -> None:
        self.stopping = True

    def run(self) -> None:
        while not self.stopping:
            try:
                self._run_connected()
            except (psycopg2.Error, sa.exc.SQLAlchemyError) as error:
                ACTIVE.set(0)
                log.warning("scheduler interrupted, retrying", extra={"error": str(error)})
                self._sleep(2.0)
        self.engine.dispose()

    def _run_connected(self) -> None:
        conn = connect_lock_session(self.service.database_url, self.config.leader)
        try:
            if not acquire(
                conn,
                f"scheduler:{self.service.service_name}",
                self.config.leader,
                stopping=lambda: self.stopping,
                sleep=self._sleep,
                waiting=lambda: self.heartbeat.beat(active=False),
            ):
                return
            ACTIVE.set(1)
            log.info("scheduler active")
            while not self.stopping:
                released = release_no_shows(self.sessions)
                RELEASED.inc(released)
                LAST_RUN.set_to_current_time()
                self.heartbeat.beat(active=True, last_released=released)
                self._wait(conn)
        finally:
            ACTIVE.set(0)
            conn.close()

    def _wait(self, conn: psycopg2.extensions.connection) -> None:
        """Sleep until the next pass, touching the lock session often enough that PostgreSQL keeps it."""
        deadline = time.monotonic() + self.config.poll_s
        touch_every = self.config.leader.dead_after_s / 3
        while not self.stopping and time.monotonic() < deadline:
            self._sleep(min(touch_every, deadline - time.monotonic()))
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            conn.commit()

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def run_scheduler(service: ServiceSettings, env: Env) -> None:
    scheduler = Scheduler(service, SchedulerConfig.from_env(env))
    signal.signal(signal.SIGTERM, scheduler.stop)
    signal.signal(signal.SIGINT, scheduler.stop)
    serve_health(env.integer("HEALTH_PORT", 9002), scheduler.heartbeat)
    scheduler.run()
