from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from minka_certification.audits.models import Audit
from minka_certification.audits.sampling import HighRiskReason
from minka_certification.certifications.lifecycle import Severity
from minka_certification.findings.schemas import FindingOut
from minka_certification.standards.document import Level, StandardRef
from minka_certification.tiers import Outcome, Status
from minka_common.types import Text

SEED_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class AuditKind(StrEnum):
    initial = "initial"
    surveillance = "surveillance"
    recertification = "recertification"


class AuditCreate(BaseModel):
    kind: AuditKind
    seed: str | None = Field(None, pattern=SEED_PATTERN, description="drawn at random when not given")
    audit_on: date | None = Field(None, description="the date whose members are the population; default today")


class HighRiskMember(BaseModel):
    member_id: uuid.UUID
    reasons: list[HighRiskReason]


class AuditOut(BaseModel):
    id: uuid.UUID
    certification_id: uuid.UUID
    kind: AuditKind
    audit_on: date
    status: str = Field(description="open or closed")
    seed: str
    risk_factor: int
    population: int = Field(description="number of members on the audit date")
    population_members: list[uuid.UUID] = Field(description="the members the sample was drawn from, sorted")
    sample: list[uuid.UUID]
    high_risk: list[HighRiskMember]
    tier: Level | None
    principle_levels: dict[str, Level | None] | None
    indicator_statuses: dict[str, Status] | None
    standards: list[StandardRef] | None = Field(description="the base and the bolt-ons that applied, once closed")
    claims: list[str] | None
    created_at: datetime
    closed_at: datetime | None


class ClosedAuditOut(AuditOut):
    findings_opened: list[FindingOut]


class RedrawOut(BaseModel):
    seed: str
    population: int
    sample: list[uuid.UUID]
    identical: bool = Field(description="whether the re-drawn sample equals the recorded one")


class ResultIn(BaseModel):
    indicator: Text = Field(max_length=50)
    member_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    outcome: Outcome
    note: Text | None = Field(None, max_length=2000)
    severity: Severity | None = Field(
        None, description="of the finding a not_met opens at close; default major for foundational, else minor"
    )


class ResultOut(ResultIn):
    recorded_by: str
    recorded_at: datetime


class ResultsRecorded(BaseModel):
    audit_id: uuid.UUID
    recorded: int


def audit_out(audit: Audit) -> AuditOut:
    return AuditOut(
        id=audit.id,
        certification_id=audit.certification_id,
        kind=audit.kind,
        audit_on=audit.audit_on,
        status="open" if audit.closed_at is None else "closed",
        seed=audit.seed,
        risk_factor=audit.risk_factor,
        population=len(audit.population),
        population_members=audit.population,
        sample=audit.sample,
        high_risk=[HighRiskMember(member_id=m, reasons=r) for m, r in audit.high_risk.items()],
        tier=audit.tier,
        principle_levels=audit.principle_levels,
        indicator_statuses=audit.statuses,
        standards=audit.applied_standards,
        claims=audit.claims,
        created_at=audit.created_at,
        closed_at=audit.closed_at,
    )
