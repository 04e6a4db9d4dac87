"""Traceability's domain events: lots made, handed over and used up, and red flags raised on them.

Each is recorded by the service function that makes the change, in its transaction (see ``minka_common.events``).
The subject is always the lot (``lot:<id>``), red flags included, so that one lot's events stay in order. The
audience is the organisations involved, all of which hold, held or were named to receive the lot: the custodian,
the dispatcher and the receiver of a handover, the cooperative of origin.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.events import record_event
from minka_common.mass import format_kg
from minka_traceability.database import event_store
from minka_traceability.lots.models import CustodyEvent, Lot
from minka_traceability.red_flags.models import RedFlag
from minka_traceability.transfers.models import Transfer

LOT_CREATED = "lot.created"
LOT_DISPATCHED = "lot.dispatched"
LOT_RECEIVED = "lot.received"
LOT_CONSUMED = "lot.consumed"
RED_FLAG_RAISED = "red_flag.raised"
LOT_ORIGIN_CERTIFICATE_SUSPENDED = "lot.origin_certificate_suspended"
"""Recorded by ``origin_alerts`` when certification reports a suspended or withdrawn certificate of origin."""
EVENT_TYPES = [LOT_CREATED, LOT_DISPATCHED, LOT_RECEIVED, LOT_CONSUMED, RED_FLAG_RAISED,
               LOT_ORIGIN_CERTIFICATE_SUSPENDED]


def mass(kilograms: Decimal) -> dict[str, str]:
    return {"value": format_kg(kilograms), "unit": "kg"}


def _id(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _record(
    session: AsyncSession, type: str, lot: Lot, data: dict[str, Any], audience: Iterable[uuid.UUID | None],
    at: datetime,
) -> None:
    record_event(session, event_store, type, f"lot:{lot.id}", {"lot_id": str(lot.id), "code": lot.code, **data},
                 audience=audience, occurred_at=at)


def lot_created(session: AsyncSession, lot: Lot, custody_event: CustodyEvent, inputs: Sequence[Lot] = ()) -> None:
    """A lot at origin (seen by its cooperative) or made from ``inputs`` by a split, merge or transform."""
    data: dict[str, Any] = {
        "commodity": lot.commodity, "form": lot.form, "mass": mass(lot.mass_kg),
        "chain_of_custody": lot.chain_of_custody, "custodian_id": str(lot.custodian_id), "tier": lot.tier,
        "custody_event": custody_event.kind, "custody_event_id": str(custody_event.id),
    }
    if inputs:
        data["input_lot_ids"] = [str(input.id) for input in inputs]
    else:
        data |= {"cooperative_id": _id(lot.cooperative_id), "site_id": _id(lot.site_id),
                 "produced_on": lot.produced_on.isoformat() if lot.produced_on else None,
                 "certificate_number": lot.certificate_number}
    _record(session, LOT_CREATED, lot, data, [lot.custodian_id, lot.cooperative_id], custody_event.at)


def lot_consumed(session: AsyncSession, lot: Lot, custody_event: CustodyEvent, outputs: Sequence[Lot]) -> None:
    """An input of a split, merge or transform, seen by its custodian."""
    data = {"mass": mass(lot.mass_kg), "custodian_id": str(lot.custodian_id), "custody_event": custody_event.kind,
            "custody_event_id": str(custody_event.id), "output_lot_ids": [str(output.id) for output in outputs]}
    _record(session, LOT_CONSUMED, lot, data, [lot.custodian_id], custody_event.at)


def _handover(transfer: Transfer) -> dict[str, Any]:
    return {"transfer_id": str(transfer.id), "from_organization_id": str(transfer.from_organization_id),
            "to_organization_id": str(transfer.to_organization_id)}


def lot_dispatched(session: AsyncSession, lot: Lot, transfer: Transfer) -> None:
    _record(session, LOT_DISPATCHED, lot, _handover(transfer) | {"mass": mass(transfer.dispatched_mass_kg)},
            [transfer.from_organization_id, transfer.to_organization_id], transfer.dispatched_at)


def lot_received(session: AsyncSession, lot: Lot, transfer: Transfer) -> None:
    """``mass`` is what the receiver weighed, ``dispatched_mass`` what was sent."""
    data = _handover(transfer) | {"mass": mass(lot.mass_kg), "dispatched_mass": mass(transfer.dispatched_mass_kg)}
    _record(session, LOT_RECEIVED, lot, data, [transfer.from_organization_id, transfer.to_organization_id],
            transfer.received_at or lot.updated_at)


def red_flag_raised(session: AsyncSession, lot: Lot, flag: RedFlag, also: Iterable[uuid.UUID] = ()) -> None:
    """Seen by the lot's custodian, its cooperative of origin, and ``also`` (the dispatcher of a receipt)."""
    data = {"red_flag_id": str(flag.id), "rule": flag.rule, "message": flag.message, "details": flag.details}
    _record(session, RED_FLAG_RAISED, lot, data, [lot.custodian_id, lot.cooperative_id, *also], flag.raised_at)
