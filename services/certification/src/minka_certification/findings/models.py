from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Index, String
from sqlmodel import Field

from minka_certification.database import CertificationModel
from minka_common.db import UtcDateTime
from minka_common.ids import new_id


class Finding(CertificationModel, table=True):
    """A non-conformity on one indicator, open until the certification body closes it."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_certification_open", "certification_id", "closed_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    certification_id: uuid.UUID = Field(foreign_key="certifications.id")
    audit_id: uuid.UUID | None = Field(default=None, foreign_key="audits.id")
    indicator: str = Field(max_length=50)
    severity: str = Field(sa_type=String(20))
    member_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    description: str | None = Field(default=None, max_length=2000)
    opened_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    due_on: date
    opened_by: str = Field(max_length=255)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    closed_by: str | None = Field(default=None, max_length=255)
    close_note: str | None = Field(default=None, max_length=2000)
