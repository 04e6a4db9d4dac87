from __future__ import annotations

import uuid

from fastapi import APIRouter, Body
from sqlmodel import select

from minka_certification.access import Runner, visible_certifications
from minka_certification.audits import service
from minka_certification.audits.models import Audit
from minka_certification.audits.schemas import (
    AuditCreate,
    AuditOut,
    ClosedAuditOut,
    RedrawOut,
    ResultIn,
    ResultOut,
    ResultsRecorded,
    audit_out,
)
from minka_certification.certifications.models import Certification
from minka_certification.certifications.routes import load_current
from minka_certification.certifications.service import apply_time_rules, load_certification
from minka_certification.database import Session
from minka_certification.deps import Now, Registry
from minka_certification.findings.schemas import finding_out
from minka_common.auth import CurrentPrincipal, Principal
from minka_common.errors import NotFound
from minka_common.unit_of_work import UnitOfWorkRoute

router = APIRouter(prefix="/v1", tags=["audits"], route_class=UnitOfWorkRoute)


async def load_visible_audit(session: Session, principal: Principal, audit_id: uuid.UUID) -> tuple[Audit, Certification]:
    visible_certifications(principal)  # a role that may not read audits learns nothing, not even whether one exists
    audit = await session.get(Audit, audit_id)
    if audit is None:
        raise NotFound("audit not found")
    try:
        certification = await load_certification(session, principal, audit.certification_id)
    except NotFound:
        raise NotFound("audit not found") from None
    return audit, certification


@router.post("/certifications/{certification_id}/audits", status_code=201, response_model=AuditOut,
             summary="Schedule an audit and draw its member sample (reproducible from the returned seed)")
async def create_audit(
    certification_id: uuid.UUID, body: AuditCreate, session: Session, principal: Runner, registry: Registry, now: Now
) -> AuditOut:
    certification = await load_current(session, principal, certification_id, now)
    return audit_out(await service.create_audit(session, registry, certification, body, principal.subject, now))


@router.get("/certifications/{certification_id}/audits", response_model=list[AuditOut],
            summary="Audits of a certification, oldest first")
async def list_audits(
    certification_id: uuid.UUID, session: Session, principal: CurrentPrincipal, now: Now
) -> list[AuditOut]:
    certification = await load_current(session, principal, certification_id, now)
    statement = select(Audit).where(Audit.certification_id == certification.id).order_by(Audit.id)
    return [audit_out(audit) for audit in (await session.exec(statement)).all()]


@router.get("/audits/{audit_id}", response_model=AuditOut, summary="One audit with its sample")
async def get_audit(audit_id: uuid.UUID, session: Session, principal: CurrentPrincipal) -> AuditOut:
    audit, _ = await load_visible_audit(session, principal, audit_id)
    return audit_out(audit)


@router.get("/audits/{audit_id}/redraw", response_model=RedrawOut,
            summary="Draw the sample again from the registry's members on the audit date with the recorded seed")
async def redraw_sample(audit_id: uuid.UUID, session: Session, principal: CurrentPrincipal, registry: Registry) -> RedrawOut:
    audit, certification = await load_visible_audit(session, principal, audit_id)
    sample = await service.redraw(registry, certification, audit)
    return RedrawOut(seed=audit.seed, population=len(audit.population), sample=sample,
                     identical=[str(m) for m in sample] == audit.sample)


@router.post("/audits/{audit_id}/results", status_code=201, response_model=ResultsRecorded,
             summary="Record indicator results (all or nothing; a later result for the same subject replaces one)")
async def record_results(
    audit_id: uuid.UUID, session: Session, principal: Runner, now: Now, body: list[ResultIn] = Body(...)
) -> ResultsRecorded:
    audit, certification = await load_visible_audit(session, principal, audit_id)
    recorded = await service.record_results(session, certification, audit, body, principal.subject, now)
    return ResultsRecorded(audit_id=audit.id, recorded=recorded)


@router.get("/audits/{audit_id}/results", response_model=list[ResultOut], summary="Results recorded so far")
async def list_results(audit_id: uuid.UUID, session: Session, principal: CurrentPrincipal) -> list[ResultOut]:
    audit, _ = await load_visible_audit(session, principal, audit_id)
    return [ResultOut.model_validate(r, from_attributes=True) for r in await service.audit_results(session, audit.id)]


@router.post("/audits/{audit_id}/close", response_model=ClosedAuditOut,
             summary="Close the audit: compute the tier and open findings for unmet indicators")
async def close_audit(audit_id: uuid.UUID, session: Session, principal: Runner, now: Now) -> ClosedAuditOut:
    audit, certification = await load_visible_audit(session, principal, audit_id)
    _, opened = await service.close_audit(session, certification, audit, principal.subject, now)
    await apply_time_rules(session, certification, now)
    return ClosedAuditOut(**audit_out(audit).model_dump(), findings_opened=[finding_out(f, now.date()) for f in opened])
