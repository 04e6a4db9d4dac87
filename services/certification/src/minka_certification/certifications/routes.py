from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlmodel import select

from minka_certification.access import Runner, visible_certifications
from minka_certification.certifications import decisions
from minka_certification.certifications.lifecycle import CertificationStatus, ensure_not_ended
from minka_certification.certifications.models import Certificate, Certification
from minka_certification.certifications.schemas import (
    CertificateOut,
    CertificationCreate,
    CertificationOut,
    CertificationUpdate,
    DecisionRequest,
    EventOut,
    certificate_out,
    certification_out,
    event_out,
)
from minka_certification.certifications.service import (
    apply_time_rules,
    current_certificate,
    history,
    load_certification,
)
from minka_certification.database import Session
from minka_certification.deps import Now, Registry
from minka_common.auth import CurrentPrincipal, Principal
from minka_common.errors import NotFound
from minka_common.pagination import Page, PageParams, paginate
from minka_common.unit_of_work import UnitOfWorkRoute

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)
public_router = APIRouter(prefix="/v1", tags=["certificates"], route_class=UnitOfWorkRoute)
CERTIFICATE_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]*$"


async def _out(session: Session, certification: Certification) -> CertificationOut:
    return certification_out(certification, await current_certificate(session, certification))


async def load_current(session: Session, principal: Principal, certification_id: uuid.UUID, now) -> Certification:
    """A visible certification with every rule the clock has brought about applied."""
    return await apply_time_rules(session, await load_certification(session, principal, certification_id), now)


@router.post("/certifications", status_code=201, response_model=CertificationOut, tags=["certifications"],
             summary="Open the certification of a cooperative against a base standard and bolt-ons")
async def create_certification(
    body: CertificationCreate, session: Session, principal: Runner, registry: Registry, now: Now
) -> CertificationOut:
    return await _out(session, await decisions.open_certification(session, registry, body, principal, now))


@router.get("/certifications", response_model=Page[CertificationOut], tags=["certifications"],
            summary="List the certifications the caller may see")
async def list_certifications(
    session: Session, principal: CurrentPrincipal, page: PageParams, now: Now,
    cooperative_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[CertificationStatus | None, Query()] = None,
) -> Page[CertificationOut]:
    statement = select(Certification).where(visible_certifications(principal))
    if cooperative_id is not None:
        statement = statement.where(Certification.cooperative_id == cooperative_id)
    if status is not None:
        statement = statement.where(Certification.status == status.value)
    found = await paginate(session, statement, Certification.id, page, lambda row: row)
    items = [await _out(session, await apply_time_rules(session, c, now)) for c in found.items]
    return Page[CertificationOut](items=items, next_cursor=found.next_cursor)


@router.get("/certifications/{certification_id}", response_model=CertificationOut, tags=["certifications"],
            summary="One certification")
async def get_certification(
    certification_id: uuid.UUID, session: Session, principal: CurrentPrincipal, now: Now
) -> CertificationOut:
    return await _out(session, await load_current(session, principal, certification_id, now))


@router.patch("/certifications/{certification_id}", response_model=CertificationOut, tags=["certifications"],
              summary="Change the cooperative's risk factor (certification body)")
async def update_certification(
    certification_id: uuid.UUID, body: CertificationUpdate, session: Session, principal: Runner, now: Now
) -> CertificationOut:
    certification = await load_current(session, principal, certification_id, now)
    ensure_not_ended(CertificationStatus(certification.status), "its risk factor changes")
    certification.risk_factor, certification.updated_at = body.risk_factor, now
    session.add(certification)
    await session.flush()
    return await _out(session, certification)


@router.get("/certifications/{certification_id}/history", response_model=list[EventOut], tags=["certifications"],
            summary="Every transition with actor, time and reason, oldest first")
async def certification_history(
    certification_id: uuid.UUID, session: Session, principal: CurrentPrincipal, now: Now
) -> list[EventOut]:
    certification = await load_current(session, principal, certification_id, now)
    return [event_out(event) for event in await history(session, certification.id)]


@router.post("/certifications/{certification_id}/decision", response_model=CertificationOut, tags=["certifications"],
             summary="certify, suspend, reinstate or withdraw; an illegal transition is a 409")
async def decide(
    certification_id: uuid.UUID, body: DecisionRequest, request: Request, session: Session, principal: Runner,
    registry: Registry, now: Now,
) -> CertificationOut:
    certification = await load_certification(session, principal, certification_id)
    await decisions.decide(session, registry, certification, body.decision, body.reason, principal.subject, now,
                           request.app.state.settings.certificate_prefix)
    return await _out(session, certification)


@public_router.get("/certificates/{number}", response_model=CertificateOut,
                   summary="Verify a certificate by its number (public, no token)")
async def verify_certificate(
    number: Annotated[str, Path(max_length=40, pattern=CERTIFICATE_NUMBER_PATTERN)], session: Session, now: Now
) -> CertificateOut:
    certificate = (await session.exec(select(Certificate).where(Certificate.number == number))).one_or_none()
    if certificate is None:
        raise NotFound(f"no certificate numbered {number}")
    certification = await session.get(Certification, certificate.certification_id)
    assert certification is not None
    await apply_time_rules(session, certification, now)
    return certificate_out(certificate, decisions.public_certificate_status(certificate, certification))
