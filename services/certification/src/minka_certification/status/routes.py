"""``GET /v1/status``: was this cooperative (and member) covered, at which tier, under which standards, on date D?

This is the question traceability asks when a lot is created; the answer comes
from the recorded history of the certification (not its current state). Facts
recorded late, such as a leave or a sanction dated in the past, do change the
answer for the dates they cover, which is why traceability copies the answer
onto the lot when it is created.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlmodel import select

from minka_certification.certifications.lifecycle import CertificationStatus
from minka_certification.certifications.models import Certificate, Certification, CertificationEvent
from minka_certification.certifications.service import apply_time_rules, history, state_on
from minka_certification.database import Session
from minka_certification.deps import Now, Registry
from minka_certification.inspections.rules import sanction_in_force
from minka_certification.inspections.service import member_inspections
from minka_certification.standards.document import Level, StandardRef
from minka_common.errors import Unprocessable
from minka_common.unit_of_work import UnitOfWorkRoute

router = APIRouter(prefix="/v1", tags=["status"], route_class=UnitOfWorkRoute)


class CoverageStatus(BaseModel):
    cooperative_id: uuid.UUID
    member_id: uuid.UUID | None
    on: date
    covered: bool
    tier: Level | None = Field(None, description="the tier the member's (or group's) production may claim")
    standards: list[StandardRef] = Field(default_factory=list)
    forest_smart: bool = False
    certificate_number: str | None = None
    certification_id: uuid.UUID | None = None
    certification_status: CertificationStatus | None = Field(None, description="of the certification on that date")
    reason: str | None = Field(None, description="why not covered")


def _tier_rank(event: CertificationEvent) -> int:
    return Level(event.tier).rank if event.tier else -1


async def _states_on(session: Session, cooperative_id: uuid.UUID, on: date, now) -> list[CertificationEvent]:
    statement = select(Certification).where(Certification.cooperative_id == cooperative_id).order_by(Certification.id)
    states = []
    for certification in (await session.exec(statement)).all():
        await apply_time_rules(session, certification, now)
        state = state_on(await history(session, certification.id), on)
        if state is not None:
            states.append(state)
    return states


async def _member_exclusion(
    session: Session, registry: Registry, cooperative_id: uuid.UUID, member_id: uuid.UUID, on: date
) -> str | None:
    memberships = await registry.memberships(member_id) or []
    if not any(m.cooperative_id == cooperative_id and m.covers(on) for m in memberships):
        return "not a member of the cooperative on that date"
    sanction = sanction_in_force(await member_inspections(session, cooperative_id, member_id, until=on), on)
    return f"the member was under {sanction.value} by the internal control system" if sanction else None


@router.get("/status", response_model=CoverageStatus,
            summary="Coverage of a cooperative, or one of its members, on a date (public, no token)")
async def coverage_status(
    session: Session, registry: Registry, now: Now,
    cooperative_id: Annotated[uuid.UUID, Query()],
    member_id: Annotated[uuid.UUID | None, Query()] = None,
    on: Annotated[date | None, Query(description="default today")] = None,
) -> CoverageStatus:
    on = on or now.date()
    if on > now.date():
        raise Unprocessable(errors=[("on", "coverage is known for today and past dates only")])
    asked = {"cooperative_id": cooperative_id, "member_id": member_id, "on": on}
    states = await _states_on(session, cooperative_id, on, now)
    certified = [s for s in states if s.to_status == CertificationStatus.certified]
    if not certified:
        latest = max(states, key=_tier_rank) if states else None
        return CoverageStatus(
            **asked, covered=False, certification_id=latest.certification_id if latest else None,
            certification_status=latest.to_status if latest else None, reason="no certification in force on that date",
        )
    best = max(certified, key=_tier_rank)
    certificate = await session.get(Certificate, best.certificate_id) if best.certificate_id else None
    reason = await _member_exclusion(session, registry, cooperative_id, member_id, on) if member_id else None
    return CoverageStatus(
        **asked,
        covered=reason is None,
        tier=best.tier if reason is None else None,
        forest_smart=best.forest_smart and reason is None,
        standards=certificate.standards if certificate else [],
        certificate_number=certificate.number if certificate else None,
        certification_id=best.certification_id,
        certification_status=best.to_status,
        reason=reason,
    )
