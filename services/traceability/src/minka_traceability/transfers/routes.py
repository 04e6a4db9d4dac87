from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from minka_common.pagination import Page, PageParams, paginate
from minka_common.unit_of_work import UnitOfWorkRoute
from minka_traceability.access import Custodian, Reader, custodied_lot
from minka_traceability.database import Session
from minka_traceability.deps import IdempotencyKey, Now, Registry, Settings
from minka_traceability.lots.models import Lot
from minka_traceability.lots.routes import actor_of
from minka_traceability.lots.schemas import lot_out
from minka_traceability.transfers import service
from minka_traceability.transfers.models import Transfer, TransferStatus
from minka_traceability.transfers.schemas import DispatchRequest, ReceiveRequest, TransferOut, transfer_out

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute, tags=["transfers"])


@router.post("/lots/{lot_id}/dispatch", status_code=201, response_model=TransferOut,
             summary="Hand a lot over: it is in transit until the receiver confirms it")
async def dispatch_lot(
    lot_id: uuid.UUID, body: DispatchRequest, session: Session, principal: Custodian, registry: Registry, now: Now,
    idempotency_key: IdempotencyKey = None,
) -> TransferOut:
    lot = await custodied_lot(session, principal, lot_id)
    transfer = await service.dispatch(session, registry, lot, body.to_organization_id,
                                      actor_of(principal, now, body.place, idempotency_key))
    return transfer_out(transfer, lot_out(lot))


@router.post("/transfers/{transfer_id}/receive", response_model=TransferOut,
             summary="Receive a lot dispatched to the caller's organisation, confirming its mass")
async def receive_transfer(
    transfer_id: uuid.UUID, body: ReceiveRequest, session: Session, principal: Custodian, settings: Settings,
    now: Now, idempotency_key: IdempotencyKey = None,
) -> TransferOut:
    transfer = await service.visible_transfer(session, principal, transfer_id)
    service.ensure_receiver(principal, transfer)
    received_kg = body.received_mass.kg if body.received_mass else None
    await service.receive(session, transfer, received_kg, settings.receipt_tolerance_percent,
                          actor_of(principal, now, body.place, idempotency_key))
    lot = await session.get(Lot, transfer.lot_id)
    return transfer_out(transfer, lot_out(lot) if lot else None)


@router.get("/transfers", response_model=Page[TransferOut], summary="Transfers from or to the caller's organisation")
async def list_transfers(
    session: Session, principal: Reader, page: PageParams,
    status: Annotated[TransferStatus | None, Query()] = None,
) -> Page[TransferOut]:
    statement = service.visible_transfers(principal)
    if status is not None:
        statement = statement.where(Transfer.status == status.value)
    return await paginate(session, statement, Transfer.id, page, transfer_out)


@router.get("/transfers/{transfer_id}", response_model=TransferOut, summary="One transfer")
async def get_transfer(transfer_id: uuid.UUID, session: Session, principal: Reader) -> TransferOut:
    return transfer_out(await service.visible_transfer(session, principal, transfer_id))
