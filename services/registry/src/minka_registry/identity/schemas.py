from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, EmailStr, Field

from minka_common.auth import Role
from minka_registry.identity.passwords import MINIMUM_PASSWORD_LENGTH


class UserCreate(BaseModel):
    email: EmailStr
    password: str = Field(min_length=MINIMUM_PASSWORD_LENGTH, max_length=200)
    role: Role
    organization_id: uuid.UUID | None = None


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    role: Role
    organization_id: uuid.UUID | None
    created_at: datetime


class ClientCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    organization_id: uuid.UUID | None = None


class ClientCreated(BaseModel):
    id: uuid.UUID
    name: str
    client_id: str
    client_secret: str = Field(description="Shown once; only its hash is kept")
    role: Role
    organization_id: uuid.UUID | None
