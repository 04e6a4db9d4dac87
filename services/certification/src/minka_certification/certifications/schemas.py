from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from minka_certification.certifications.lifecycle import CertificationStatus, Decision, surveillance_dates
from minka_certification.certifications.models import Certificate, Certification, CertificationEvent
from minka_certification.standards.document import Level, StandardRef
from minka_common.types import Text

RISK_FACTOR_HELP = "1 low … 4 very high; multiplies the audit sample size"


class CertificationCreate(BaseModel):
    cooperative_id: uuid.UUID
    standard: StandardRef
    bolt_ons: list[StandardRef] = Field(default_factory=list, max_length=10)
    certification_body_id: uuid.UUID
    risk_factor: int = Field(1, ge=1, le=4, description=RISK_FACTOR_HELP)


class CertificationUpdate(BaseModel):
    risk_factor: int = Field(ge=1, le=4, description=RISK_FACTOR_HELP)


class DecisionRequest(BaseModel):
    decision: Decision
    reason: Text | None = Field(None, max_length=2000)


class CertificateOut(BaseModel):
    number: str
    cooperative: dict[str, str]
    tier: Level
    standards: list[StandardRef]
    claims: list[str]
    status: str
    valid_from: date
    valid_to: date
    surveillance_due: list[date]
    scope: dict


class CertificationOut(BaseModel):
    id: uuid.UUID
    cooperative_id: uuid.UUID
    certification_body_id: uuid.UUID
    standard: StandardRef
    bolt_ons: list[StandardRef]
    status: CertificationStatus
    status_since: datetime
    tier: Level | None
    forest_smart: bool
    risk_factor: int
    certificate_number: str | None
    certificate_valid_to: date | None
    first_certified_on: date | None
    created_at: datetime
    updated_at: datetime


class EventOut(BaseModel):
    from_status: CertificationStatus | None
    to_status: CertificationStatus
    tier: Level | None
    forest_smart: bool
    actor: str
    reason: str | None
    at: datetime


def certification_out(certification: Certification, certificate: Certificate | None) -> CertificationOut:
    return CertificationOut(
        id=certification.id,
        cooperative_id=certification.cooperative_id,
        certification_body_id=certification.certification_body_id,
        standard=StandardRef(code=certification.standard_code, version=certification.standard_version),
        bolt_ons=[StandardRef(**ref) for ref in certification.bolt_ons],
        status=CertificationStatus(certification.status),
        status_since=certification.status_since,
        tier=certification.tier,
        forest_smart=certification.forest_smart,
        risk_factor=certification.risk_factor,
        certificate_number=certificate.number if certificate else None,
        certificate_valid_to=certificate.valid_to if certificate else None,
        first_certified_on=certification.first_certified_on,
        created_at=certification.created_at,
        updated_at=certification.updated_at,
    )


def event_out(event: CertificationEvent) -> EventOut:
    return EventOut.model_validate(event, from_attributes=True)


def certificate_out(certificate: Certificate, status: str) -> CertificateOut:
    return CertificateOut(
        number=certificate.number,
        cooperative={"id": str(certificate.cooperative_id), "name": certificate.cooperative_name},
        tier=certificate.tier,
        standards=[StandardRef(**ref) for ref in certificate.standards],
        claims=certificate.claims,
        status=status,
        valid_from=certificate.valid_from,
        valid_to=certificate.valid_to,
        surveillance_due=surveillance_dates(certificate.valid_from),
        scope=certificate.scope,
    )
