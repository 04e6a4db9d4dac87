from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from minka_common.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service_name = "registry"
    model_config = SettingsConfigDict(env_prefix="MINKA_REGISTRY_", extra="ignore", populate_by_name=True)

    signing_key: str | None = Field(None, description="Private signing key as a JWK (JSON); overrides the key file")
    signing_key_file: Path | None = Field(None, description="Defaults to <data dir>/registry-signing-key.json")
    token_ttl_seconds: int = Field(3600, ge=60, le=86400)
    bootstrap_client_id: str | None = Field(None, validation_alias=AliasChoices("MINKA_BOOTSTRAP_CLIENT_ID"))
    bootstrap_client_secret: str | None = Field(None, validation_alias=AliasChoices("MINKA_BOOTSTRAP_CLIENT_SECRET"))
    service_clients: dict[str, str] = Field(
        default_factory=dict,
        description='API clients with role service that other services use, as JSON {"client id": "secret"}',
    )

    def resolved_signing_key_file(self) -> Path:
        return self.signing_key_file or self.data_dir / "registry-signing-key.json"
