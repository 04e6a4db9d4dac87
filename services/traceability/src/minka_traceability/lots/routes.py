from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from minka_common.auth import Principal
from minka_common.errors import Unprocessable
from minka_common.pagination import Page, PageParams, paginate
from minka_common.types import Line
from minka_common.unit_of_work import UnitOfWorkRoute
from minka_traceability.access import (
    Custodian,
    Producer,
    Reader,
    acting_organization,
    custodied_lot,
    custodied_lots,
    readable_lot,
)
from minka_traceability.database import Session
from minka_traceability.deps import Certification, IdempotencyKey, Now, Registry
from minka_traceability.graph import held_by
from minka_traceability.lots import service
from minka_traceability.lots.models import CustodyEvent, EventLot, Lot, LotStatus
from minka_traceability.lots.schemas import (
    EventOut,
    LotCreate,
    LotOut,
    MergeRequest,
    SplitOut,
    SplitRequest,
    TransformRequest,
    event_out,
    lot_out,
)

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute, tags=["lots"])


def actor_of(principal: Principal, now, place: str | None, idempotency_key: str | None) -> service.Actor:
    return service.Actor(subject=principal.subject, organization_id=acting_organization(principal), at=now,
                         place=place, idempotency_key=idempotency_key)


@router.post("/lots", status_code=201, response_model=LotOut,
             summary="Record a lot at origin (the cooperative that owns the site); claims are copied from certification")
async def create_lot(
    body: LotCreate, session: Session, principal: Producer, registry: Registry, certification: Certification,
    now: Now, idempotency_key: IdempotencyKey = None,
) -> LotOut:
    actor = actor_of(principal, now, body.place, idempotency_key)
    return lot_out(await service.create_origin_lot(session, registry, certification, body, actor))


@router.get("/lots", response_model=Page[LotOut], summary="Lots the caller's organisation holds or held")
async def list_lots(
    session: Session, principal: Reader, page: PageParams,
    status: Annotated[LotStatus | None, Query()] = None,
    code: Annotated[Line | None, Query(max_length=20)] = None,
    held_now: Annotated[bool, Query(description="only lots the caller's organisation holds now (not consumed)")] = False,
) -> Page[LotOut]:
    statement = select(Lot)
    if not principal.is_unscoped:
        statement = statement.where(col(Lot.id).in_(held_by(acting_organization(principal))))
    if held_now and principal.organization_id is not None:
        statement = statement.where(Lot.custodian_id == principal.organization_id,
                                    Lot.status != LotStatus.consumed.value)
    if status is not None:
        statement = statement.where(Lot.status == status.value)
    if code is not None:
        statement = statement.where(Lot.code == code.upper())
    return await paginate(session, statement, Lot.id, page, lot_out)


@router.get("/lots/{lot_id}", response_model=LotOut, summary="One lot, with its claims")
async def get_lot(lot_id: uuid.UUID, session: Session, principal: Reader) -> LotOut:
    return lot_out(await readable_lot(session, principal, lot_id))


@router.get("/lots/{lot_id}/events", response_model=list[EventOut], summary="The lot's own custody events, oldest first")
async def lot_events(lot_id: uuid.UUID, session: Session, principal: Reader) -> list[EventOut]:
    lot = await readable_lot(session, principal, lot_id)
    touching = select(EventLot.event_id).where(EventLot.lot_id == lot.id)
    events = (await session.exec(
        select(CustodyEvent).where(col(CustodyEvent.id).in_(touching)).order_by(CustodyEvent.at, CustodyEvent.id)
    )).all()
    parts = (await session.exec(select(EventLot).where(col(EventLot.event_id).in_(touching)))).all()
    return [event_out(event, [p for p in parts if p.event_id == event.id]) for event in events]


@router.post("/lots/{lot_id}/split", status_code=201, response_model=SplitOut,
             summary="Split a lot into parts; parts + loss must equal the lot exactly")
async def split_lot(
    lot_id: uuid.UUID, body: SplitRequest, session: Session, principal: Custodian, now: Now,
    idempotency_key: IdempotencyKey = None,
) -> SplitOut:
    lot = await custodied_lot(session, principal, lot_id)
    loss_kg = body.loss.kg if body.loss else Decimal(0)
    outputs = await service.split(session, lot, [part.mass.kg for part in body.parts], loss_kg,
                                  actor_of(principal, now, body.place, idempotency_key))
    return SplitOut(lots=[lot_out(output) for output in outputs])


@router.post("/merges", status_code=201, response_model=LotOut,
             summary="Merge lots into one, segregated (shared claims, lowest tier) or mass balance (certified share)")
async def merge_lots(
    body: MergeRequest, session: Session, principal: Custodian, now: Now, idempotency_key: IdempotencyKey = None,
) -> LotOut:
    if len(set(body.lot_ids)) != len(body.lot_ids):
        raise Unprocessable(errors=[("lot_ids", "a lot is listed twice")])
    lots = await custodied_lots(session, principal, body.lot_ids)
    output = await service.merge(session, lots, body, actor_of(principal, now, body.place, idempotency_key))
    return lot_out(output)


@router.post("/lots/{lot_id}/transform", status_code=201, response_model=LotOut,
             summary="Process a lot into a new form; the mass difference is the declared loss")
async def transform_lot(
    lot_id: uuid.UUID, body: TransformRequest, session: Session, principal: Custodian, now: Now,
    idempotency_key: IdempotencyKey = None,
) -> LotOut:
    lot = await custodied_lot(session, principal, lot_id)
    output = await service.transform(session, lot, body.output_form.value, body.output_mass.kg, body.process,
                                     actor_of(principal, now, body.place, idempotency_key))
    return lot_out(output)
