"""Settings from the environment (`SESSION_API_` prefix), refusing unsafe values."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./session-api.sqlite3"
MIN_SECRET_BYTES = 32
# A browser origin: scheme, host and optional port; no path, no wildcard.
_ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?")


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="SESSION_API_", extra="ignore")

    environment: Literal["production", "development", "test"] = "production"
    database_url: str = DEFAULT_DATABASE_URL
    database_pool_size: int = Field(default=20, ge=1, le=200)

    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_algorithms: tuple[str, ...] = ("HS256",)
    jwt_issuer: str | None = None
    jwt_audience: str | None = None

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    mail_from: str = "Session API <sessions@localhost>"
    mail_dir: Path = Path("./outbox-mail")
    smtp_timeout_seconds: float = Field(default=30, gt=0, le=300)

    # The outbox worker (`session-api worker`).
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=120)
    # Webhooks go to public addresses only unless this is set (receivers inside the network).
    webhook_allow_private_targets: bool = False
    # After `rotate-secret`, the old secret keeps signing (next to the new one) this long.
    webhook_secret_grace_seconds: int = Field(default=86_400, ge=0, le=30 * 86_400)
    worker_poll_seconds: float = Field(default=1, gt=0, le=300)
    worker_batch_size: int = Field(default=100, ge=1, le=1000)
    delivery_lease_seconds: int = Field(default=300, ge=10, le=86_400)
    delivery_retry_first_seconds: float = Field(default=30, gt=0, le=3600)
    delivery_retry_max_seconds: float = Field(default=3600, gt=0, le=86_400)
    delivery_max_attempts: int = Field(default=12, ge=1, le=100)
    delivery_give_up_after_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400)
    # Well below half of the shortest lead time (1 hour): a reminder is never late enough
    # to be skipped because of the interval alone.
    reminder_interval_seconds: float = Field(default=60, gt=0, le=900)

    # Integrators: browser origins allowed to call the API (CORS), comma-separated; none by
    # default. Logs are JSON lines on stderr; `access_log` writes one per request.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    access_log: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The worker touches this file after every pass that reached the database (a health check
    # reads its age); unset, it writes none.
    worker_heartbeat_file: Path | None = None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            for origin in value:
                if not isinstance(origin, str) or not _ORIGIN.fullmatch(origin):
                    raise ValueError(
                        f"SESSION_API_CORS_ORIGINS: {origin!r} is not an origin "
                        "like https://app.example.com (scheme, host, optional port)"
                    )
        return value

    @field_validator("smtp_host", "smtp_username", "smtp_password", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker-compose passes `VAR: ${VAR:-}` through as an empty string.
        return None if value == "" else value

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        secret = self.jwt_secret.get_secret_value().encode() if self.jwt_secret else None
        if (
            secret is not None
            and len(secret) < MIN_SECRET_BYTES
            and self.environment == "production"
        ):
            raise ValueError(
                f"SESSION_API_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes; "
                "set SESSION_API_ENVIRONMENT=development to allow a short one locally"
            )
        if self.smtp_username is not None and self.smtp_password is None:
            raise ValueError("SESSION_API_SMTP_USERNAME needs SESSION_API_SMTP_PASSWORD")
        # A send still running when its lease ends is claimed again and sent twice.
        if self.delivery_lease_seconds < 2 * max(
            self.smtp_timeout_seconds, self.webhook_timeout_seconds
        ):
            raise ValueError(
                "SESSION_API_DELIVERY_LEASE_SECONDS must be at least twice the SMTP and "
                "webhook timeouts"
            )
        if self.jwt_public_key is not None and not set(self.jwt_algorithms) <= {
            "RS256",
            "RS384",
            "RS512",
            "ES256",
        }:
            raise ValueError(
                "with SESSION_API_JWT_PUBLIC_KEY, SESSION_API_JWT_ALGORITHMS must be asymmetric"
            )
        return self

    def refuse_without_token_key(self) -> None:
        """The API and `token` verify or sign tokens; the worker and `migrate` need no key."""
        if self.jwt_public_key is None and self.jwt_secret is None:
            raise ValueError(
                "SESSION_API_JWT_SECRET is required (or SESSION_API_JWT_PUBLIC_KEY for RS256)"
            )

    @cached_property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")
