"""Mine sites and forest layers.

Geometries are stored as GeoJSON (RFC 7946, WGS84 lon/lat) in JSON columns. Every
feature of an uploaded forest layer is a row of its own with its bounding box, so a
region can be selected without reading whole layers.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Float, ForeignKey, Index, Numeric, Uuid
from sqlmodel import Field

from minka_common.db import timestamp_field
from minka_common.ids import new_id
from minka_registry.database import RegistryModel


class SiteMethod(StrEnum):
    alluvial = "alluvial"
    hard_rock = "hard_rock"
    tailings = "tailings"
    other = "other"


class SiteStatus(StrEnum):
    active = "active"
    inactive = "inactive"
    closed = "closed"


class Site(RegistryModel, table=True):
    __tablename__ = "sites"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    cooperative_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    name: str = Field(max_length=200)
    geometry: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    minerals: list[str] = Field(sa_column=Column(JSON, nullable=False))
    method: SiteMethod
    title_number: str | None = Field(default=None, max_length=100)
    title_expires_on: date | None = None
    status: SiteStatus = Field(default=SiteStatus.active, index=True)
    capacity_kg_per_month: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 3), nullable=True))
    # Metric distance to the nearest loaded forest polygon; NULL while no forest layer is loaded.
    forest_distance_km: float | None = Field(default=None, sa_column=Column(Float, nullable=True, index=True))
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class ForestLayer(RegistryModel, table=True):
    __tablename__ = "forest_layers"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str | None = Field(default=None, max_length=200)
    source: str | None = Field(default=None, max_length=500)
    feature_count: int
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    created_by: str = Field(max_length=255)
    created_at: datetime = timestamp_field()


class ForestPolygon(RegistryModel, table=True):
    """One feature of a forest layer: a Polygon or MultiPolygon with its lon/lat bounding box."""

    __tablename__ = "forest_polygons"
    __table_args__ = (
        Index("ix_forest_polygons_layer_position", "layer_id", "position", unique=True),
        Index("ix_forest_polygons_bbox", "min_lon", "max_lon", "min_lat", "max_lat"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    layer_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("forest_layers.id", ondelete="CASCADE"), nullable=False))
    position: int = Field(description="index of the feature in the uploaded FeatureCollection")
    geometry: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    properties: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
