"""The processes of the stack, their ports and environments, computed in one place."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

SERVICES = ("user", "room", "reservation")
PACKAGES = {name: f"{name}_service" for name in SERVICES}
DATABASES = {name: f"{name}_db" for name in SERVICES}
ROLES = {
    "user": ("web", "relay"),
    "room": ("web", "relay"),
    "reservation": ("web", "relay", "consumer", "scheduler"),
}


@dataclass
class StackConfig:
    """Ports and addresses of one stack; `make run` uses the defaults, tests pick free ports."""

    dev_dir: Path = ROOT / ".dev"
    pg_port: int = 54329
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    gateway_port: int = 8080
    web_ports: dict[str, int] = field(default_factory=lambda: {"user": 5000, "room": 5001, "reservation": 5002})
    health_base_port: int = 9100
    health_ports: dict[str, int] = field(default_factory=dict)  # "reservation-consumer": port, overriding the base
    oidc_port: int = 9400
    google_client_id: str = ""  # set: sign in with Google; empty: with the local test provider
    database_urls: dict[str, str] = field(default_factory=dict)
    kafka_bootstrap_servers: str = ""
    topic_prefix: str = ""
    web_concurrency: int = 2
    log_level: str = "INFO"
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> StackConfig:
        """Defaults, with existing servers named by *_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS."""
        config = cls()
        for name in SERVICES:
            url = environ.get(f"{name.upper()}_DATABASE_URL")
            if url:
                config.database_urls[name] = url
        config.kafka_bootstrap_servers = environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
        config.google_client_id = environ.get("GOOGLE_CLIENT_ID", "")
        return config

    @property
    def private_postgres(self) -> bool:
        return len(self.database_urls) < len(SERVICES)

    @property
    def private_kafka(self) -> bool:
        return not self.kafka_bootstrap_servers

    def database_url(self, service: str) -> str:
        return self.database_urls.get(service) or f"postgresql://postgres@127.0.0.1:{self.pg_port}/{DATABASES[service]}"

    def kafka(self) -> str:
        return self.kafka_bootstrap_servers or f"127.0.0.1:{self.kafka_port}"

    def health_port(self, service: str, role: str) -> int:
        if f"{service}-{role}" in self.health_ports:
            return self.health_ports[f"{service}-{role}"]
        index = [(s, r) for s in SERVICES for r in ROLES[s] if r != "web"].index((service, role))
        return self.health_base_port + index

    @property
    def signing_key_file(self) -> Path:
        return self.dev_dir / "keys" / "jwt-signing-key.pem"

    def signing_key(self) -> str:
        """The development signing key, generated once into the dev directory (never committed)."""
        path = self.signing_key_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["openssl", "genrsa", "-out", str(path), "2048"], check=True, capture_output=True)
            path.chmod(0o600)
        return path.read_text()

    def calendar_feed_key(self) -> str:
        """The development key of calendar feed secrets, generated once into the dev directory."""
        path = self.dev_dir / "keys" / "calendar-feed-key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def service_env(self, service: str, role: str) -> dict[str, str]:
        env = {
            "DATABASE_URL": self.database_url(service),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka(),
            "KAFKA_TOPIC_PREFIX": self.topic_prefix,
            "LOG_LEVEL": self.log_level,
            "PYTHONUNBUFFERED": "1",
            "HOST": "127.0.0.1",  # every process of the dev stack, health servers included, on loopback only
        }
        if role == "web":
            env.update(PORT=str(self.web_ports[service]), WEB_CONCURRENCY=str(self.web_concurrency))
        elif role in ("relay", "consumer", "scheduler"):
            env["HEALTH_PORT"] = str(self.health_port(service, role))
        if service == "user":
            env["JWT_SIGNING_KEY"] = self.signing_key()
            env["OAUTH_REDIRECT_URI"] = f"http://localhost:{self.gateway_port}/auth/google/callback"
            if self.local_provider:
                env.update(LOCAL_PROVIDER_ENV, OIDC_DISCOVERY_URL=f"{self.oidc_url}/.well-known/openid-configuration")
        else:
            env["JWKS_URL"] = f"http://127.0.0.1:{self.web_ports['user']}/.well-known/jwks.json"
        if service == "reservation":
            env["CALENDAR_FEED_KEY"] = self.calendar_feed_key()
            env["PUBLIC_BASE_URL"] = f"http://localhost:{self.gateway_port}"
        env.update(self.extra_env)
        return env

    @property
    def local_provider(self) -> bool:
        return not self.google_client_id

    @property
    def oidc_url(self) -> str:
        return f"http://127.0.0.1:{self.oidc_port}"

    def gateway_values(self) -> dict[str, str]:
        return {
            "LISTEN_PORT": str(self.gateway_port),
            "USER_UPSTREAM": f"127.0.0.1:{self.web_ports['user']}",
            "ROOM_UPSTREAM": f"127.0.0.1:{self.web_ports['room']}",
            "RESERVATION_UPSTREAM": f"127.0.0.1:{self.web_ports['reservation']}",
            "AUTH_RATE": self.extra_env.get("GATEWAY_AUTH_RATE", "10r/s"),
            "AUTH_BURST": self.extra_env.get("GATEWAY_AUTH_BURST", "20"),
            "RUN_DIR": str(self.dev_dir / "nginx"),
            "ACCESS_LOG": "/dev/stdout",
            "ERROR_LOG": "/dev/stderr",
            "STATIC_ROOT": str(ROOT / "web" / "dist"),
        }


# The local OpenID Connect provider of `make run` and the tests: a development client, never Google's.
LOCAL_PROVIDER_ENV = {
    "GOOGLE_CLIENT_ID": "meeting-rooms-local",
    "GOOGLE_CLIENT_SECRET": "local-provider-secret",
    "ADMIN_EMAILS": "admin@example.com",
}
LOCAL_USERS = [
    {"sub": "admin@example.com", "email": "admin@example.com", "email_verified": True, "name": "Ada Admin"},
    {"sub": "alice@example.com", "email": "alice@example.com", "email_verified": True, "name": "Alice Example"},
    {"sub": "bob@example.com", "email": "bob@example.com", "email_verified": True, "name": "Bob Example"},
]


def oidc_provider_command(port: int, users: list[dict[str, object]] | None = None) -> list[str]:
    """oidc-provider-mock with named users whose e-mails are verified, requiring a nonce as Google does."""
    import json

    command = [str(Path(PYTHON).parent / "oidc-provider-mock"), "--port", str(port), "--require-nonce", "true"]
    for user in users if users is not None else LOCAL_USERS:
        command += ["--user-claims", json.dumps(user)]
    return command


def service_command(service: str, role: str) -> list[str]:
    return [PYTHON, "-m", PACKAGES[service], role]


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment (PATH and friends) without settings meant for another process."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("DATABASE_URL") and k not in ("JWT_SIGNING_KEY", "CALENDAR_FEED_KEY")
    }
    return {**inherited, **extra}
