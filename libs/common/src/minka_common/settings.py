"""Settings shared by every service.

Fields with an explicit alias are shared across services (``MINKA_DATA_DIR``,
``MINKA_AUTH_*``); the others take the service's own prefix, e.g.
``MINKA_REGISTRY_DATABASE_URL``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from minka_common.crash_points import CrashAction, CrashPoint
from minka_common.events.webhook_targets import parse_exception


def shared(name: str) -> AliasChoices:
    return AliasChoices(f"MINKA_{name}")


class ServiceSettings(BaseSettings):
    service_name: ClassVar[str] = "service"
    model_config = SettingsConfigDict(env_prefix="MINKA_SERVICE_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(Path("data"), validation_alias=shared("DATA_DIR"))
    database_url: str | None = Field(
        None, description="SQLAlchemy async URL; defaults to a SQLite file in the data directory"
    )
    database_echo: bool = False
    migrate_on_start: bool = True

    auth_issuer: str = Field("urn:minka:registry", validation_alias=shared("AUTH_ISSUER"))
    auth_audience: str = Field("minka", validation_alias=shared("AUTH_AUDIENCE"))
    auth_jwks_url: str | None = Field(
        None,
        validation_alias=shared("AUTH_JWKS_URL"),
        description="Issuer JWKS URL; unset in the all-in-one process, where keys are read in-process",
    )
    root_path: str = Field(
        "", pattern=r"^(/[A-Za-z0-9._~-]+)*$",
        description="Path prefix a reverse proxy serves this service under (e.g. /registry), for links and docs",
    )
    http_timeout_seconds: float = Field(5.0, validation_alias=shared("HTTP_TIMEOUT_SECONDS"))

    webhook_interval_seconds: float = Field(
        5.0, ge=0,
        description="How often the background job fans new events out to webhooks and sends what is due; "
        "0 = never in the background",
    )
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, description="How long one webhook request may take, connecting included, before it counts as failed"
    )
    webhook_max_attempts: int = Field(
        12, ge=1, description="Attempts at one delivery before it is marked failed (it can then be retried by hand)"
    )
    webhook_retry_base_seconds: float = Field(
        10.0, gt=0, description="Wait after a delivery's first failed attempt; doubled after each further failure"
    )
    webhook_retry_max_seconds: float = Field(
        3600.0, gt=0, description="Longest wait between two attempts at one delivery"
    )
    webhook_concurrency: int = Field(
        10, ge=1, description="Deliveries one replica sends at once (to different subjects; a subject's go in order)"
    )
    webhook_allow_http: bool = Field(
        False, validation_alias=shared("WEBHOOK_ALLOW_HTTP"),
        description="Accept and send to http webhook URLs; otherwise https only",
    )
    webhook_allowed_private_targets: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=shared("WEBHOOK_ALLOWED_PRIVATE_TARGETS"),
        description="Host names, IP addresses and networks (CIDR) webhooks may be sent to although they are not "
        "public: test and on-premise receivers. Comma-separated or a JSON list; empty by default",
    )

    @field_validator("webhook_allowed_private_targets", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("webhook_allowed_private_targets")
    @classmethod
    def _known_targets(cls, targets: list[str]) -> list[str]:
        for target in targets:
            parse_exception(target)
        return targets

    job_poll_seconds: float = Field(
        2.0, ge=0, description="How often a replica looks for jobs enqueued by other replicas (its own start at once); "
        "0 = this process runs no jobs")
    job_lease_seconds: float = Field(
        30.0, gt=0, description="How long a running job's claim lasts without a heartbeat; a job whose process died "
        "is taken up again after it")
    job_max_attempts: int = Field(3, ge=1, description="Runs a job may start before it is marked failed")

    crash_points: dict[CrashPoint, CrashAction] = Field(
        default_factory=dict,
        description="Tests only (fault injection): where a write request fails as a crash would, e.g. "
        '{"after_commit": "kill"}; empty in production',
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service_name}.db').resolve()}"


@lru_cache(maxsize=1)
def _default_settings() -> ServiceSettings:
    return ServiceSettings()


def service_settings(app: Any) -> ServiceSettings:
    """The settings of a service app (``app.state.settings``), or the defaults for an app that has none."""
    settings = getattr(app.state, "settings", None)
    return settings if isinstance(settings, ServiceSettings) else _default_settings()
