from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field

from minka_certification.database import CertificationModel
from minka_common.db import timestamp_field
from minka_common.ids import new_id


class Inspection(CertificationModel, table=True):
    """An internal inspection of one member by the cooperative's internal control system."""

    __tablename__ = "inspections"
    __table_args__ = (Index("ix_inspections_cooperative_member_on", "cooperative_id", "member_id", "inspected_on"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    certification_id: uuid.UUID = Field(foreign_key="certifications.id", index=True)
    cooperative_id: uuid.UUID
    member_id: uuid.UUID
    inspected_on: date
    results: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    sanction: str | None = Field(default=None, sa_type=String(20))
    sanction_until: date | None = None
    lifts_sanction: bool = False
    note: str | None = Field(default=None, max_length=2000)
    inspector: str = Field(max_length=255)
    created_at: datetime = timestamp_field()
