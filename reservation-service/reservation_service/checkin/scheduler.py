"""`python -m reservation_service scheduler`: releases no-shows. Several may run; one is active (an advisory
lock, as for the relay), the others stand by and take over when it dies."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import psycopg2
import psycopg2.extensions
import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlalchemy.orm import sessionmaker
from tenacity import wait_fixed

from reservation_service.checkin.service import release_no_shows
from servicekit.health_server import Heartbeat
from servicekit.leader import LeaderConfig, LeaderWorker
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


class Scheduler(LeaderWorker):
    """The active scheduler releases no-shows every `poll_s`; a lost database means starting over after 2 s."""

    def __init__(self, service: ServiceSettings, config: SchedulerConfig) -> None:
        super().__init__(
            "scheduler",
            f"scheduler:{service.service_name}",
            service.database_url,
            config.leader,
            Heartbeat(max_silence_s=max(60.0, 4 * config.poll_s)),
            errors=(psycopg2.Error, sa.exc.SQLAlchemyError),
            wait=wait_fixed(2.0),
        )
        self.service = service
        self.config = config
        self.engine = sa.create_engine(service.database_url, **service.engine_options())
        self.sessions = sessionmaker(self.engine)

    def run(self) -> None:
        super().run()
        self.engine.dispose()

    def lead(self, conn: psycopg2.extensions.connection) -> None:
        ACTIVE.set(1)
        try:
            log.info("scheduler active")
            while not self.stopping:
                released = release_no_shows(self.sessions)
                RELEASED.inc(released)
                LAST_RUN.set_to_current_time()
                self.heartbeat.beat(active=True, last_released=released)
                self._wait(conn)
        finally:
            ACTIVE.set(0)

    def _wait(self, conn: psycopg2.extensions.connection) -> None:
        """Sleep until the next pass, touching the lock session often enough that PostgreSQL keeps it."""
        deadline = time.monotonic() + self.config.poll_s
        touch_every = self.config.leader.dead_after_s / 3
        while not self.stopping and time.monotonic() < deadline:
            self.sleep(min(touch_every, deadline - time.monotonic()))
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            conn.commit()


def run_scheduler(service: ServiceSettings, env: Env) -> None:
    Scheduler(service, SchedulerConfig.from_env(env)).serve(env.integer("HEALTH_PORT", 9002))
