from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from minka_common.types import DecimalString, storable_line
from minka_registry.sites.models import SiteMethod, SiteStatus

MAX_MINERALS = 20
def _dedupe(minerals: list[str]) -> list[str]:
    return list(dict.fromkeys(minerals))


Mineral = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=50), AfterValidator(storable_line)
]
Minerals = Annotated[list[Mineral], Field(min_length=1, max_length=MAX_MINERALS), AfterValidator(_dedupe)]
SiteName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(storable_line)
]
TitleNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(storable_line)
]
Capacity = Annotated[
    Decimal, Field(ge=0, max_digits=14, decimal_places=3, description="kg per month, as a decimal string")
]
GeoJSONGeometry = Annotated[
    dict[str, Any],
    Field(
        description="GeoJSON geometry (RFC 7946, WGS84 [longitude, latitude]): a Point or a Polygon",
        examples=[{"type": "Point", "coordinates": [-76.61, 5.69]}],
    ),
]


class SiteCreate(BaseModel):
    cooperative_id: uuid.UUID = Field(description="an organisation of kind cooperative")
    name: SiteName
    geometry: GeoJSONGeometry
    minerals: Minerals
    method: SiteMethod
    title_number: TitleNumber | None = None
    title_expires_on: date | None = None
    status: SiteStatus = SiteStatus.active
    capacity_kg_per_month: Capacity | None = None


NOT_NULLABLE_ON_UPDATE = ("name", "geometry", "minerals", "method", "status")


class SiteUpdate(BaseModel):
    """Fields to change; omitted fields stay as they are. The cooperative of a site cannot be changed."""

    model_config = ConfigDict(extra="forbid")

    name: SiteName | None = None
    geometry: GeoJSONGeometry | None = None
    minerals: Minerals | None = None
    method: SiteMethod | None = None
    title_number: TitleNumber | None = None
    title_expires_on: date | None = None
    status: SiteStatus | None = None
    capacity_kg_per_month: Capacity | None = None

    @field_validator(*NOT_NULLABLE_ON_UPDATE, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null; omit the field to leave it unchanged")
        return value


class SiteOut(BaseModel):
    id: uuid.UUID
    cooperative_id: uuid.UUID
    name: str
    geometry: dict[str, Any]
    minerals: list[str]
    method: SiteMethod
    title_number: str | None
    title_expires_on: date | None
    status: SiteStatus
    capacity_kg_per_month: DecimalString | None
    forest_distance_km: float | None = Field(
        description="metric distance to the nearest loaded forest polygon; null when no forest layer is loaded"
    )
    forest_smart_applicable: bool = Field(description="within 5 km of forest: the Forest-Smart ASM bolt-on applies")
    created_at: datetime
    updated_at: datetime


class ForestLayerOut(BaseModel):
    id: uuid.UUID
    name: str | None
    source: str | None
    feature_count: int
    bbox: list[float] = Field(description="[west, south, east, north] in degrees")
    created_at: datetime


class ForestLayerCreated(ForestLayerOut):
    sites_recomputed: int = Field(description="how many sites had their forest distance recomputed")
