"""Dispatch and receive: the two-step handover of a lot between organisations."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import update
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.auth import Principal
from minka_common.errors import Conflict, Forbidden, NotFound, Unprocessable
from minka_common.registry_client import RegistryClient
from minka_traceability import claims as rules
from minka_traceability import events
from minka_traceability.claims import Portion
from minka_traceability.lots.models import ChainOfCustody, EventKind, Lot, LotHolder, LotRole, LotStatus
from minka_traceability.lots.schemas import claims_of
from minka_traceability.lots.service import Actor, ensure_active, record_event, set_claims
from minka_traceability.red_flags import rules as flag_rules
from minka_traceability.red_flags.service import raise_flag
from minka_traceability.transfers.models import Transfer, TransferStatus

HOLDING_KINDS = frozenset({"cooperative", "buyer", "trader", "refiner"})


async def dispatch(
    session: AsyncSession, registry: RegistryClient, lot: Lot, to_organization_id: uuid.UUID, actor: Actor
) -> Transfer:
    """Puts the lot in transit to the receiver. An organisation the registry does not know is accepted, as the
    lot has physically left, but raises a red flag; one that cannot hold lots is refused."""
    ensure_active(lot)
    if to_organization_id == actor.organization_id:
        raise Unprocessable(errors=[("to_organization_id", "the lot is already yours")])
    receiver = await registry.organization(to_organization_id)
    if receiver is not None and receiver.kind not in HOLDING_KINDS:
        raise Unprocessable(errors=[("to_organization_id", f"a {receiver.kind} does not take custody of lots")])
    await _mark(session, lot, LotStatus.active, LotStatus.in_transit, actor)
    event = await record_event(session, EventKind.dispatch, actor, [(LotRole.subject, lot, lot.mass_kg)],
                         from_organization_id=str(actor.organization_id), to_organization_id=str(to_organization_id))
    transfer = Transfer(lot_id=lot.id, from_organization_id=actor.organization_id, to_organization_id=to_organization_id,
                        status=TransferStatus.in_transit.value, dispatched_mass_kg=lot.mass_kg,
                        dispatch_event_id=event.id, dispatched_at=actor.at)
    event.details["transfer_id"] = str(transfer.id)
    session.add(transfer)
    if await session.get(LotHolder, (to_organization_id, lot.id)) is None:
        session.add(LotHolder(organization_id=to_organization_id, lot_id=lot.id, since=actor.at))
    events.lot_dispatched(session, lot, transfer)
    if receiver is None:
        raise_flag(session, lot, flag_rules.unregistered_custodian(str(to_organization_id)))
    await session.flush()
    return transfer


async def receive(
    session: AsyncSession, transfer: Transfer, received_kg: Decimal | None, tolerance_percent: Decimal, actor: Actor
) -> Transfer:
    """The receiver takes custody and records the mass it weighed; the lot's mass becomes what was received
    (the difference is the event's loss, negative for a gain) and a difference beyond tolerance raises a flag."""
    if transfer.status != TransferStatus.in_transit.value:
        raise Conflict("the transfer was already received")
    lot = await session.get(Lot, transfer.lot_id)
    assert lot is not None
    dispatched_kg = transfer.dispatched_mass_kg
    received_kg = dispatched_kg if received_kg is None else received_kg
    await _close_transfer(session, transfer, received_kg, actor)
    [claims] = rules.inherited(Portion(claims_of(lot), dispatched_kg), [received_kg],
                               lot.chain_of_custody == ChainOfCustody.segregated.value)
    await _mark(session, lot, LotStatus.in_transit, LotStatus.active, actor, custodian_id=actor.organization_id,
                mass_kg=received_kg)
    set_claims(lot, claims)
    session.add(lot)
    event = await record_event(session, EventKind.receive, actor, [(LotRole.subject, lot, received_kg)],
                         loss_kg=dispatched_kg - received_kg, transfer_id=str(transfer.id),
                         from_organization_id=str(transfer.from_organization_id),
                         to_organization_id=str(transfer.to_organization_id), dispatched_kg=str(dispatched_kg))
    transfer.receive_event_id = event.id
    session.add(transfer)
    events.lot_received(session, lot, transfer)
    finding = flag_rules.mass_discrepancy(dispatched_kg, received_kg, tolerance_percent)
    if finding is not None:
        raise_flag(session, lot, finding, also=[transfer.from_organization_id])
    await session.flush()
    return transfer


async def _mark(session: AsyncSession, lot: Lot, expected: LotStatus, to: LotStatus, actor: Actor, **changes) -> None:
    """Moves the lot from ``expected`` to ``to`` if nobody changed it since it was read; else 409."""
    result = await session.exec(  # type: ignore[call-overload]
        update(Lot)
        .where(col(Lot.id) == lot.id, col(Lot.status) == expected.value, col(Lot.version) == lot.version)
        .values(status=to.value, version=lot.version + 1, updated_at=actor.at, **changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        await session.rollback()
        raise Conflict("the lot was changed by a concurrent request; nothing was changed")
    lot.status, lot.version, lot.updated_at = to.value, lot.version + 1, actor.at
    for name, value in changes.items():
        setattr(lot, name, value)


async def _close_transfer(session: AsyncSession, transfer: Transfer, received_kg: Decimal, actor: Actor) -> None:
    result = await session.exec(  # type: ignore[call-overload]
        update(Transfer)
        .where(col(Transfer.id) == transfer.id, col(Transfer.status) == TransferStatus.in_transit.value)
        .values(status=TransferStatus.received.value, received_mass_kg=received_kg, received_at=actor.at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        await session.rollback()
        raise Conflict("the transfer was already received")
    transfer.status, transfer.received_mass_kg, transfer.received_at = (
        TransferStatus.received.value, received_kg, actor.at)


def visible_transfers(principal: Principal):
    statement = select(Transfer)
    if principal.is_unscoped:
        return statement
    organization = principal.organization_id
    return statement.where(or_(Transfer.from_organization_id == organization, Transfer.to_organization_id == organization))


async def visible_transfer(session: AsyncSession, principal: Principal, transfer_id: uuid.UUID) -> Transfer:
    transfer = (await session.exec(visible_transfers(principal).where(Transfer.id == transfer_id))).one_or_none()
    if transfer is None:
        raise NotFound("transfer not found")
    return transfer


def ensure_receiver(principal: Principal, transfer: Transfer) -> None:
    if principal.organization_id != transfer.to_organization_id:
        raise Forbidden("only the organisation the lot was dispatched to may receive it")
