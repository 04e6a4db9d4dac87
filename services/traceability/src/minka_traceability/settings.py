from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from minka_common.settings import ServiceSettings

# The GS1 schema is not part of this project; it is read from the shared reference copy next to the checkout
# unless a deployment points MINKA_TRACEABILITY_EPCIS_SCHEMA_PATH at its own copy.
DEFAULT_EPCIS_SCHEMA = Path(__file__).resolve().parents[4] / ".." / "shared" / "epcis" / "EPCIS-JSON-Schema.json"


class TraceabilitySettings(ServiceSettings):
    service_name = "traceability"
    model_config = SettingsConfigDict(env_prefix="MINKA_TRACEABILITY_", extra="ignore", populate_by_name=True)

    registry_url: str = Field("http://127.0.0.1:8000/registry", description="Base URL of the registry service")
    certification_url: str = Field(
        "http://127.0.0.1:8000/certification", description="Base URL of the certification service"
    )
    service_client_id: str | None = Field(None, description="API client (role service) for calling the other services")
    service_client_secret: str | None = None
    receipt_tolerance_percent: Decimal = Field(
        Decimal("0.5"), ge=0, le=100,
        description="A received mass differing from the dispatched one by more than this raises a red flag",
    )
    claim_recheck_interval_seconds: float = Field(
        3600, ge=0,
        description="How often certified origin lots are checked against certification's recorded history "
        "(a suspension recorded late, effective before production, raises a red flag); 0 = never in the background",
    )
    claim_recheck_days: int = Field(400, ge=1, description="Origin lots produced this many days back are rechecked")
    certification_feed_interval_seconds: float = Field(
        10, ge=0,
        description="How often certification's event feed is read for suspended or withdrawn certificates, whose "
        "effect on lots in play is recorded as lot.origin_certificate_suspended events; 0 = never in the background",
    )
    epc_base_uri: str = Field(
        "https://id.minka.example", description="Base of the URIs that identify lots, sites and parties in EPCIS"
    )
    epcis_schema_path: Path = Field(DEFAULT_EPCIS_SCHEMA, description="GS1's EPCIS 2.0 JSON schema")
    max_capture_events: int = Field(10_000, ge=1, description="Events accepted in one EPCIS capture")
