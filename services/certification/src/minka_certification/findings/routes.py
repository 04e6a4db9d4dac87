from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query
from sqlmodel import col, select

from minka_certification.access import Runner
from minka_certification.certifications.routes import load_current
from minka_certification.certifications.service import apply_time_rules, scheme_for
from minka_certification.database import Session
from minka_certification.deps import Now
from minka_certification.findings import service
from minka_certification.findings.models import Finding
from minka_certification.findings.schemas import FindingClose, FindingCreate, FindingOut, finding_out
from minka_common.auth import CurrentPrincipal
from minka_common.unit_of_work import UnitOfWorkRoute

router = APIRouter(prefix="/v1/certifications/{certification_id}/findings", tags=["findings"],
                   route_class=UnitOfWorkRoute)


@router.get("", response_model=list[FindingOut], summary="Findings of a certification, oldest first")
async def list_findings(
    certification_id: uuid.UUID, session: Session, principal: CurrentPrincipal, now: Now,
    open: Annotated[bool | None, Query(description="only open (true) or closed (false) findings")] = None,
) -> list[FindingOut]:
    certification = await load_current(session, principal, certification_id, now)
    statement = select(Finding).where(Finding.certification_id == certification.id)
    if open is not None:
        statement = statement.where(col(Finding.closed_at).is_(None) if open else col(Finding.closed_at).is_not(None))
    return [finding_out(f, now.date()) for f in (await session.exec(statement.order_by(Finding.id))).all()]


@router.post("", status_code=201, response_model=FindingOut,
             summary="Raise a finding; a critical one suspends the certificate at once, a major one once overdue")
async def create_finding(
    certification_id: uuid.UUID, body: FindingCreate, session: Session, principal: Runner, now: Now
) -> FindingOut:
    certification = await load_current(session, principal, certification_id, now)
    finding = service.raise_finding(session, await scheme_for(session, certification), certification, body,
                                    principal.subject, now)
    await session.flush()
    await apply_time_rules(session, certification, now)
    return finding_out(finding, now.date())


@router.post("/{finding_id}/close", response_model=FindingOut, summary="Close a finding once corrected")
async def close_finding(
    certification_id: uuid.UUID, finding_id: uuid.UUID, session: Session, principal: Runner, now: Now,
    body: Annotated[FindingClose | None, Body()] = None,
) -> FindingOut:
    certification = await load_current(session, principal, certification_id, now)
    note = body.note if body else None
    finding = await service.close_finding(session, certification, finding_id, note, principal.subject, now)
    await session.flush()
    return finding_out(finding, now.date())
