"""User-service settings, read once from the environment."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlparse

from servicekit.settings import ConfigError, Env, ServiceSettings

SERVICE_NAME = "user-service"
GOOGLE_DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"


@dataclass(frozen=True)
class OidcSettings:
    """Sign-in: Google by default, any OpenID Connect provider by its discovery URL."""

    client_id: str
    client_secret: str
    discovery_url: str
    redirect_uri: str
    allowed_email_domains: frozenset[str] = field(default_factory=frozenset)
    admin_emails: frozenset[str] = field(default_factory=frozenset)

    @property
    def enabled(self) -> bool:
        return bool(self.client_id)

    @classmethod
    def from_env(cls, env: Env) -> OidcSettings:
        settings = cls(
            client_id=env.text("GOOGLE_CLIENT_ID", ""),
            client_secret=env.text("GOOGLE_CLIENT_SECRET", ""),
            discovery_url=env.text("OIDC_DISCOVERY_URL", GOOGLE_DISCOVERY_URL),
            redirect_uri=env.text("OAUTH_REDIRECT_URI", "http://localhost:8080/auth/google/callback"),
            allowed_email_domains=frozenset(d.lower() for d in env.items("ALLOWED_EMAIL_DOMAINS")),
            admin_emails=frozenset(e.lower() for e in env.items("ADMIN_EMAILS")),
        )
        if settings.enabled and not settings.client_secret:
            raise ConfigError("GOOGLE_CLIENT_SECRET is required when GOOGLE_CLIENT_ID is set")
        require_https_unless_loopback("OIDC_DISCOVERY_URL", settings.discovery_url)
        return settings


def require_https_unless_loopback(name: str, url: str) -> None:
    """A provider over plain HTTP is only ever a local test provider, never a production one."""
    parsed = urlparse(url)
    if parsed.scheme == "https":
        return
    host = parsed.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parsed.scheme != "http" or not loopback:
        raise ConfigError(f"{name} must be an https URL (plain http is allowed for a provider on loopback only)")


@dataclass(frozen=True)
class Settings:
    service: ServiceSettings
    signing_key_pem: str
    previous_public_keys_pem: str
    access_token_ttl_s: int
    oidc: OidcSettings = field(default_factory=lambda: OidcSettings("", "", GOOGLE_DISCOVERY_URL, ""))
    refresh_token_ttl_s: int = 30 * 24 * 3600

    @classmethod
    def from_env(cls, env: Env | None = None) -> Settings:
        env = env or Env()
        return cls(
            service=ServiceSettings.from_env(SERVICE_NAME, env),
            signing_key_pem=env.text("JWT_SIGNING_KEY"),
            previous_public_keys_pem=env.text("JWT_PREVIOUS_PUBLIC_KEYS", ""),
            access_token_ttl_s=env.integer("ACCESS_TOKEN_TTL_SECONDS", 900, minimum=60),
            oidc=OidcSettings.from_env(env),
            refresh_token_ttl_s=env.integer("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600, minimum=300),
        )
