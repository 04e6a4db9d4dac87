from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field

from minka_common.db import timestamp_field
from minka_common.ids import new_id
from minka_registry.database import RegistryModel


class OrganizationKind(StrEnum):
    cooperative = "cooperative"
    certification_body = "certification_body"
    buyer = "buyer"
    trader = "trader"
    refiner = "refiner"
    authority = "authority"


class Organization(RegistryModel, table=True):
    __tablename__ = "organizations"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: OrganizationKind = Field(index=True)
    name: str = Field(max_length=200)
    country: str = Field(max_length=2, index=True)
    registration_number: str | None = Field(default=None, max_length=100)
    contact_email: str | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=50)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
