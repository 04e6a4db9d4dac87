"""External audits: the drawn sample (with everything needed to re-draw it) and the indicator results."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field

from minka_certification.database import CertificationModel
from minka_common.db import UtcDateTime, timestamp_field
from minka_common.ids import new_id


class Audit(CertificationModel, table=True):
    __tablename__ = "audits"
    __table_args__ = (
        # At most one open audit per certification, also under concurrent requests.
        Index("uq_audits_one_open_per_certification", "certification_id", unique=True,
              sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    certification_id: uuid.UUID = Field(foreign_key="certifications.id", index=True)
    kind: str = Field(sa_type=String(20))
    audit_on: date = Field(description="the date whose membership is the population")
    seed: str = Field(max_length=64)
    risk_factor: int
    population: list[str] = Field(sa_column=Column(JSON, nullable=False))
    high_risk: dict[str, list[str]] = Field(sa_column=Column(JSON, nullable=False))
    sample: list[str] = Field(sa_column=Column(JSON, nullable=False))
    site_forest_km: dict[str, float | None] = Field(
        sa_column=Column(JSON, nullable=False), description="the registry's sites and forest distances when drawn"
    )
    member_sites: dict[str, str | None] = Field(sa_column=Column(JSON, nullable=False))
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    tier: str | None = Field(default=None, sa_type=String(20))
    statuses: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    principle_levels: dict[str, str | None] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    applied_standards: list[dict[str, str]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True), description="base and the bolt-ons that applied"
    )
    claims: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_by: str = Field(max_length=255)
    created_at: datetime = timestamp_field()


class AuditResult(CertificationModel, table=True):
    __tablename__ = "audit_results"
    __table_args__ = (UniqueConstraint("audit_id", "indicator", "subject", name="uq_audit_results_subject"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    audit_id: uuid.UUID = Field(foreign_key="audits.id", index=True)
    indicator: str = Field(max_length=50)
    subject: str = Field(max_length=60, description='"group", "member:<id>" or "site:<id>"')
    member_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    outcome: str = Field(sa_type=String(20))
    severity: str | None = Field(default=None, sa_type=String(20), description="of the finding a not_met opens")
    note: str | None = Field(default=None, max_length=2000)
    recorded_by: str = Field(max_length=255)
    recorded_at: datetime = timestamp_field()
