from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from minka_common.mass import PositiveMass, format_kg
from minka_traceability.lots.schemas import LotOut, Place
from minka_traceability.transfers.models import Transfer


class DispatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_organization_id: uuid.UUID
    place: Place | None = None


class ReceiveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    received_mass: PositiveMass | None = Field(None, description="as weighed on receipt; omitted = as dispatched")
    place: Place | None = None


class TransferOut(BaseModel):
    id: uuid.UUID
    lot_id: uuid.UUID
    from_organization_id: uuid.UUID
    to_organization_id: uuid.UUID
    status: str
    dispatched_mass_kg: str
    received_mass_kg: str | None
    dispatched_at: datetime
    received_at: datetime | None
    lot: LotOut | None = Field(None, description="the lot as it is after this request (on dispatch and receipt)")


def transfer_out(transfer: Transfer, lot: LotOut | None = None) -> TransferOut:
    return TransferOut(
        id=transfer.id, lot_id=transfer.lot_id, from_organization_id=transfer.from_organization_id,
        to_organization_id=transfer.to_organization_id, status=transfer.status,
        dispatched_mass_kg=format_kg(transfer.dispatched_mass_kg),
        received_mass_kg=format_kg(transfer.received_mass_kg) if transfer.received_mass_kg is not None else None,
        dispatched_at=transfer.dispatched_at, received_at=transfer.received_at, lot=lot,
    )
