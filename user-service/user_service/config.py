"""User-service settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.settings import Env, ServiceSettings

SERVICE_NAME = "user-service"


@dataclass(frozen=True)
class Settings:
    service: ServiceSettings
    signing_key_pem: str
    previous_public_keys_pem: str
    access_token_ttl_s: int

    @classmethod
    def from_env(cls, env: Env | None = None) -> Settings:
        env = env or Env()
        return cls(
            service=ServiceSettings.from_env(SERVICE_NAME, env),
            signing_key_pem=env.text("JWT_SIGNING_KEY"),
            previous_public_keys_pem=env.text("JWT_PREVIOUS_PUBLIC_KEYS", ""),
            access_token_ttl_s=env.integer("ACCESS_TOKEN_TTL_SECONDS", 900, minimum=60),
        )
