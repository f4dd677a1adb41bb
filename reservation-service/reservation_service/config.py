"""Reservation-service settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.settings import Env, ServiceSettings

SERVICE_NAME = "reservation-service"


@dataclass(frozen=True)
class Settings:
    service: ServiceSettings
    jwks_url: str
    max_reservation_hours: int

    @classmethod
    def from_env(cls, env: Env | None = None) -> Settings:
        env = env or Env()
        return cls(
            service=ServiceSettings.from_env(SERVICE_NAME, env),
            jwks_url=env.text("JWKS_URL"),
            max_reservation_hours=env.integer("MAX_RESERVATION_HOURS", 12, minimum=1),
        )
