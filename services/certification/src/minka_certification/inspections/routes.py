from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import select

from minka_certification.access import Inspector
from minka_certification.certifications.routes import load_current
from minka_certification.certifications.service import scheme_for
from minka_certification.database import Session
from minka_certification.deps import Now, Registry
from minka_certification.inspections import service
from minka_certification.inspections.models import Inspection
from minka_certification.inspections.schemas import InspectionCreate, InspectionOut
from minka_common.auth import CurrentPrincipal
from minka_common.unit_of_work import UnitOfWorkRoute

router = APIRouter(prefix="/v1/certifications/{certification_id}/inspections", tags=["internal inspections"],
                   route_class=UnitOfWorkRoute)


def _out(inspection: Inspection) -> InspectionOut:
    return InspectionOut.model_validate(inspection, from_attributes=True)


@router.post("", status_code=201, response_model=InspectionOut,
             summary="Record an internal inspection of one member, with a sanction if any (coop manager)")
async def record_inspection(
    certification_id: uuid.UUID, body: InspectionCreate, session: Session, principal: Inspector, registry: Registry,
    now: Now,
) -> InspectionOut:
    certification = await load_current(session, principal, certification_id, now)
    scheme = await scheme_for(session, certification)
    return _out(await service.record_inspection(session, registry, scheme, certification, body, principal.subject, now))


@router.get("", response_model=list[InspectionOut], summary="Internal inspections, oldest first")
async def list_inspections(
    certification_id: uuid.UUID, session: Session, principal: CurrentPrincipal, now: Now,
    member_id: Annotated[uuid.UUID | None, Query()] = None,
) -> list[InspectionOut]:
    certification = await load_current(session, principal, certification_id, now)
    statement = select(Inspection).where(Inspection.certification_id == certification.id)
    if member_id is not None:
        statement = statement.where(Inspection.member_id == member_id)
    rows = (await session.exec(statement.order_by(Inspection.inspected_on, Inspection.id))).all()
    return [_out(row) for row in rows]
