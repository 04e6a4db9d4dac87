from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_certification.certifications.lifecycle import CertificationStatus, ensure_not_ended
from minka_certification.certifications.models import Certification
from minka_certification.inspections.models import Inspection
from minka_certification.inspections.schemas import InspectionCreate
from minka_certification.standards.document import Scope
from minka_certification.tiers import Scheme
from minka_common.errors import Unprocessable
from minka_common.registry_client import RegistryClient


def result_problems(scheme: Scheme, body: InspectionCreate, sites: set[uuid.UUID]) -> list[tuple[str, str]]:
    problems = []
    for index, result in enumerate(body.results):
        rule = scheme.indicator(result.indicator)
        if rule is None:
            problems.append((f"results[{index}].indicator", "not an indicator of this certification's standards"))
        elif rule.scope == Scope.group:
            problems.append((f"results[{index}].indicator", "internal inspections cover member and site indicators"))
        elif rule.scope == Scope.site and result.site_id not in sites:
            problems.append((f"results[{index}].site_id", "give a site of the cooperative for a site indicator"))
    return problems


async def record_inspection(
    session: AsyncSession, registry: RegistryClient, scheme: Scheme, certification: Certification,
    body: InspectionCreate, inspector: str, now: datetime,
) -> Inspection:
    ensure_not_ended(CertificationStatus(certification.status), "inspections are recorded on it")
    inspected_on = body.inspected_on or now.date()
    problems = []
    if inspected_on > now.date():
        problems.append(("inspected_on", "an inspection cannot be recorded ahead of time"))
    if body.sanction_until is not None and body.sanction_until < inspected_on:
        problems.append(("sanction_until", "the suspension would end before the inspection"))
    memberships = await registry.memberships(body.member_id) or []
    if not any(m.cooperative_id == certification.cooperative_id and m.covers(inspected_on) for m in memberships):
        problems.append(("member_id", "not a member of this cooperative on the inspection date"))
    sites = {site.id for site in await registry.sites_of(certification.cooperative_id)}
    problems += result_problems(scheme, body, sites)
    if problems:
        raise Unprocessable("the inspection cannot be recorded", errors=problems)
    inspection = Inspection(
        certification_id=certification.id, cooperative_id=certification.cooperative_id, member_id=body.member_id,
        inspected_on=inspected_on, results=[r.model_dump(mode="json") for r in body.results],
        sanction=body.sanction.value if body.sanction else None, sanction_until=body.sanction_until,
        lifts_sanction=body.lifts_sanction, note=body.note, inspector=inspector, created_at=now,
    )
    session.add(inspection)
    await session.flush()
    return inspection


async def member_inspections(
    session: AsyncSession, cooperative_id: uuid.UUID, member_id: uuid.UUID, until: date | None = None
) -> list[Inspection]:
    statement = select(Inspection).where(Inspection.cooperative_id == cooperative_id, Inspection.member_id == member_id)
    if until is not None:
        statement = statement.where(Inspection.inspected_on <= until)
    return list((await session.exec(statement.order_by(Inspection.inspected_on, Inspection.id))).all())
