from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, EmailStr, Field

from minka_common.types import CountryCode, PatchModel
from minka_registry.organizations.models import OrganizationKind


class OrganizationCreate(BaseModel):
    kind: OrganizationKind
    name: str = Field(min_length=1, max_length=200)
    country: CountryCode
    registration_number: str | None = Field(None, max_length=100)
    contact_email: EmailStr | None = None
    contact_phone: str | None = Field(None, max_length=50)


class OrganizationUpdate(PatchModel):
    nullable_fields = frozenset({"registration_number", "contact_email", "contact_phone"})

    name: str | None = Field(None, min_length=1, max_length=200)
    country: CountryCode | None = None
    registration_number: str | None = Field(None, max_length=100)
    contact_email: EmailStr | None = None
    contact_phone: str | None = Field(None, max_length=50)


class OrganizationOut(BaseModel):
    id: uuid.UUID
    kind: OrganizationKind
    name: str
    country: str
    registration_number: str | None
    contact_email: str | None
    contact_phone: str | None
    created_at: datetime
    updated_at: datetime
