"""Settings shared by every service.

Fields with an explicit alias are shared across services (``MINKA_DATA_DIR``,
``MINKA_AUTH_*``); the others take the service's own prefix, e.g.
``MINKA_REGISTRY_DATABASE_URL``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service_name}.db').resolve()}"
