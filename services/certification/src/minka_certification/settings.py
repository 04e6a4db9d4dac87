from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from minka_common.settings import ServiceSettings


class CertificationSettings(ServiceSettings):
    service_name = "certification"
    model_config = SettingsConfigDict(env_prefix="MINKA_CERTIFICATION_", extra="ignore", populate_by_name=True)

    registry_url: str = Field("http://127.0.0.1:8000/registry", description="Base URL of the registry service")
    service_client_id: str | None = Field(None, description="API client (role service) for calling the registry")
    service_client_secret: str | None = None
    load_example_standards: bool = Field(
        True, description="Publish the bundled example standards at start-up when they are not in the catalogue yet"
    )
    time_rules_interval_seconds: float = Field(
        300, ge=0, description="How often deadlines, suspensions and expiries are applied in the background; 0 = only on read"
    )
    certificate_prefix: str = Field("MNK", pattern=r"^[A-Z]{2,6}$", description="Prefix of certificate numbers")
