"""Reservation-service settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from reservation_service.reservations.policy import Limits
from servicekit.settings import ApiSettings, ConfigError, Env

SERVICE_NAME = "reservation-service"


@dataclass(frozen=True)
class Settings(ApiSettings):
    max_reservation_hours: int = 12
    # Confirmed reservations that have not ended, per user (admins exempt); None: no limit.
    max_upcoming_reservations: int | None = None
    # The server-side key calendar feed secrets are derived from (at least 32 characters); feeds are off
    # without it. PUBLIC_BASE_URL: where clients reach the gateway, for feed URLs (else the request's host).
    calendar_feed_key: str | None = None
    public_base_url: str | None = None

    @classmethod
    def from_env(cls, env: Env | None = None) -> Settings:
        env = env or Env()
        return cls(
            **cls.common_from_env(SERVICE_NAME, env),  # type: ignore[arg-type]
            max_reservation_hours=env.integer("MAX_RESERVATION_HOURS", 12, minimum=1),
            max_upcoming_reservations=(
                env.integer("MAX_UPCOMING_RESERVATIONS", minimum=1)
                if env.text("MAX_UPCOMING_RESERVATIONS", "")
                else None
            ),
            calendar_feed_key=env.text("CALENDAR_FEED_KEY", "") or None,
            public_base_url=(env.text("PUBLIC_BASE_URL", "") or "").rstrip("/") or None,
        )

    def __post_init__(self) -> None:
        if self.calendar_feed_key is not None and len(self.calendar_feed_key) < 32:
            raise ConfigError("CALENDAR_FEED_KEY must be at least 32 characters (e.g. openssl rand -base64 32)")

    @property
    def limits(self) -> Limits:
        return Limits(max_hours=self.max_reservation_hours, max_upcoming=self.max_upcoming_reservations)
