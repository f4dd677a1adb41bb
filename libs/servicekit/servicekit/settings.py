"""Settings read from the environment, failing fast on anything missing or malformed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


_UNSET = object()


@dataclass(frozen=True)
class Env:
    """Typed access to environment variables."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def text(self, name: str, default: object = _UNSET) -> str:
        value = self.environ.get(name, "").strip()
        if value:
            return value
        if default is _UNSET:
            raise ConfigError(f"environment variable {name} is required")
        return str(default)

    def integer(self, name: str, default: object = _UNSET, *, minimum: int | None = None) -> int:
        raw = self.text(name, default)
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"environment variable {name} must be an integer, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise ConfigError(f"environment variable {name} must be at least {minimum}")
        return value

    def number(self, name: str, default: object = _UNSET) -> float:
        raw = self.text(name, default)
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"environment variable {name} must be a number, got {raw!r}") from None

    def flag(self, name: str, default: bool = False) -> bool:
        raw = self.text(name, "true" if default else "false").lower()
        if raw in {"1", "true", "yes", "on"}:
            return True
        if raw in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"environment variable {name} must be true or false, got {raw!r}")

    def items(self, name: str, default: str = "") -> list[str]:
        return [item.strip() for item in self.text(name, default).split(",") if item.strip()]


def sqlalchemy_url(url: str) -> str:
    """Accept the usual postgres:// spellings and pin the psycopg2 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    topic_prefix: str
    partitions: int
    replication_factor: int

    @classmethod
    def from_env(cls, env: Env) -> KafkaSettings:
        return cls(
            bootstrap_servers=env.text("KAFKA_BOOTSTRAP_SERVERS"),
            topic_prefix=env.text("KAFKA_TOPIC_PREFIX", ""),
            partitions=env.integer("KAFKA_TOPIC_PARTITIONS", 3, minimum=1),
            replication_factor=env.integer("KAFKA_REPLICATION_FACTOR", 1, minimum=1),
        )

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


@dataclass(frozen=True)
class ServiceSettings:
    """What every process of every service needs."""

    service_name: str
    database_url: str
    log_level: str
    jwt_issuer: str
    jwt_audience: str
    db_pool_size: int = 5
    db_max_overflow: int = 5
    db_statement_timeout_ms: int = 10000

    @classmethod
    def from_env(cls, service_name: str, env: Env | None = None) -> ServiceSettings:
        env = env or Env()
        return cls(
            service_name=service_name,
            database_url=sqlalchemy_url(env.text("DATABASE_URL")),
            log_level=env.text("LOG_LEVEL", "INFO").upper(),
            jwt_issuer=env.text("JWT_ISSUER", "meeting-room-system"),
            jwt_audience=env.text("JWT_AUDIENCE", "meeting-room-api"),
            db_pool_size=env.integer("DB_POOL_SIZE", 5, minimum=1),
            db_max_overflow=env.integer("DB_MAX_OVERFLOW", 5, minimum=0),
            db_statement_timeout_ms=env.integer("DB_STATEMENT_TIMEOUT_MS", 10000, minimum=100),
        )

    def engine_options(self) -> dict[str, object]:
        """A bounded pool and a statement timeout, so one slow query cannot hold a worker forever. Connections
        are checked at checkout without a round trip (servicekit.db: a server that went away has said so on
        the socket), and renewed every half hour."""
        return {
            "pool_recycle": 1800,
            "pool_size": self.db_pool_size,
            "max_overflow": self.db_max_overflow,
            "pool_timeout": 10,
            "connect_args": {"options": f"-c statement_timeout={self.db_statement_timeout_ms}", "connect_timeout": 5},
        }


@dataclass(frozen=True)
class ApiSettings:
    """A service that accepts the user service's access tokens: its common settings and where the keys are."""

    service: ServiceSettings
    jwks_url: str

    @staticmethod
    def common_from_env(service_name: str, env: Env) -> dict[str, object]:
        return {"service": ServiceSettings.from_env(service_name, env), "jwks_url": env.text("JWKS_URL")}
