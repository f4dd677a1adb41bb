"""Room-service settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.settings import ApiSettings, Env

SERVICE_NAME = "room-service"


@dataclass(frozen=True)
class Settings(ApiSettings):
    # The booking horizon a new room gets when its creator names none (the contract's default: a year).
    default_max_days_ahead: int = 365

    @classmethod
    def from_env(cls, env: Env | None = None) -> Settings:
        env = env or Env()
        return cls(
            **cls.common_from_env(SERVICE_NAME, env),  # type: ignore[arg-type]
            default_max_days_ahead=env.integer("DEFAULT_MAX_DAYS_AHEAD", 365, minimum=1),
        )
