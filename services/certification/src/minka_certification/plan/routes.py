from __future__ import annotations

import uuid

from fastapi import APIRouter

from minka_certification.audits.service import previous_audit
from minka_certification.certifications.routes import load_current
from minka_certification.certifications.service import open_findings, scheme_for
from minka_certification.database import Session
from minka_certification.deps import Now
from minka_certification.plan.improvement import ImprovementPlan, improvement_plan
from minka_certification.standards.document import Level
from minka_certification.tiers import Status
from minka_common.auth import CurrentPrincipal
from minka_common.unit_of_work import UnitOfWorkRoute

router = APIRouter(prefix="/v1", tags=["improvement plan"], route_class=UnitOfWorkRoute)


@router.get("/certifications/{certification_id}/improvement-plan", response_model=ImprovementPlan,
            summary="Progress per level from the latest closed audit, and the actions that lead to the next tier")
async def get_improvement_plan(
    certification_id: uuid.UUID, session: Session, principal: CurrentPrincipal, now: Now
) -> ImprovementPlan:
    certification = await load_current(session, principal, certification_id, now)
    audit = await previous_audit(session, certification.id)
    statuses = {code: Status(value) for code, value in (audit.statuses or {}).items()} if audit else {}
    return improvement_plan(
        await scheme_for(session, certification), statuses, await open_findings(session, certification.id),
        Level(certification.tier) if certification.tier else None, certification.first_certified_on, now.date(),
        audit.id if audit else None,
    )
