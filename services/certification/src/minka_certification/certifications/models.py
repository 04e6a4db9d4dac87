"""Certifications, their recorded transitions, and the certificates they issue."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, text
from sqlmodel import Field

from minka_certification.database import CertificationModel
from minka_common.db import UtcDateTime, timestamp_field
from minka_common.ids import new_id

RUNNING = text("status NOT IN ('withdrawn', 'expired')")


class Certification(CertificationModel, table=True):
    __tablename__ = "certifications"
    __table_args__ = (
        # One running certification per cooperative and standard, also under concurrent requests.
        Index("uq_certifications_one_running", "cooperative_id", "standard_code", unique=True,
              sqlite_where=RUNNING, postgresql_where=RUNNING),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    cooperative_id: uuid.UUID = Field(index=True)
    certification_body_id: uuid.UUID = Field(index=True)
    standard_code: str = Field(max_length=50)
    standard_version: str = Field(max_length=50)
    bolt_ons: list[dict[str, str]] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(sa_type=String(20), index=True)
    status_since: datetime = timestamp_field()
    tier: str | None = Field(default=None, sa_type=String(20))
    forest_smart: bool = False
    risk_factor: int = 1
    first_certified_on: date | None = None
    certificate_id: uuid.UUID | None = Field(default=None, description="the current (latest) certificate")
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class CertificationEvent(CertificationModel, table=True):
    """One transition, or a change of tier, with who, when (effective time) and why; never changed."""

    __tablename__ = "certification_events"
    __table_args__ = (Index("ix_certification_events_certification_at", "certification_id", "at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    certification_id: uuid.UUID = Field(foreign_key="certifications.id")
    from_status: str | None = Field(default=None, sa_type=String(20))
    to_status: str = Field(sa_type=String(20))
    tier: str | None = Field(default=None, sa_type=String(20))
    forest_smart: bool = False
    certificate_id: uuid.UUID | None = None
    actor: str = Field(max_length=255)
    reason: str | None = Field(default=None, max_length=2000)
    at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    recorded_at: datetime = timestamp_field()


class Certificate(CertificationModel, table=True):
    __tablename__ = "certificates"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    number: str = Field(max_length=40, unique=True)
    certification_id: uuid.UUID = Field(foreign_key="certifications.id", index=True)
    cooperative_id: uuid.UUID
    cooperative_name: str = Field(max_length=300)
    tier: str = Field(sa_type=String(20))
    standards: list[dict[str, str]] = Field(sa_column=Column(JSON, nullable=False))
    claims: list[str] = Field(sa_column=Column(JSON, nullable=False))
    scope: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    valid_from: date
    valid_to: date
    issued_at: datetime = timestamp_field()
