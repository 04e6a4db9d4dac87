from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field

from minka_certification.database import CertificationModel
from minka_common.db import timestamp_field
from minka_common.ids import new_id


class PublishedStandard(CertificationModel, table=True):
    """A published standard version; never updated (a change is a new version)."""

    __tablename__ = "standards"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_standards_code_version"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    code: str = Field(max_length=50)
    version: str = Field(max_length=50)
    kind: str = Field(sa_type=String(20))
    title: str = Field(max_length=500)
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    published_by: str = Field(max_length=255)
    published_at: datetime = timestamp_field()
