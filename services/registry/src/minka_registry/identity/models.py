from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field

from minka_common.auth import Role
from minka_common.db import timestamp_field
from minka_common.ids import new_id
from minka_registry.database import RegistryModel


class User(RegistryModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    role: Role
    organization_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id", index=True)
    active: bool = True
    created_at: datetime = timestamp_field()


class ApiClient(RegistryModel, table=True):
    __tablename__ = "api_clients"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    client_id: str = Field(max_length=100, unique=True, index=True)
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=255)
    role: Role
    organization_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id", index=True)
    active: bool = True
    created_at: datetime = timestamp_field()
