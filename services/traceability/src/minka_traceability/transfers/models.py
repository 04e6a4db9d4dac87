"""Two-step handovers: dispatched by the custodian, received (with the mass weighed) by the named receiver."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Index, String, text
from sqlmodel import Field

from minka_common.db import UtcDateTime, timestamp_field
from minka_common.ids import new_id
from minka_traceability.database import TraceabilityModel
from minka_traceability.lots.models import mass_column

IN_TRANSIT = text("status = 'in_transit'")


class TransferStatus(StrEnum):
    in_transit = "in_transit"
    received = "received"


class Transfer(TraceabilityModel, table=True):
    __tablename__ = "transfers"
    __table_args__ = (
        Index("uq_transfers_one_in_transit", "lot_id", unique=True, sqlite_where=IN_TRANSIT, postgresql_where=IN_TRANSIT),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    lot_id: uuid.UUID = Field(foreign_key="lots.id", index=True)
    from_organization_id: uuid.UUID = Field(index=True)
    to_organization_id: uuid.UUID = Field(index=True)
    status: str = Field(sa_type=String(20))
    dispatched_mass_kg: Decimal = mass_column()
    received_mass_kg: Decimal | None = mass_column(nullable=True)
    dispatch_event_id: uuid.UUID = Field(foreign_key="custody_events.id")
    receive_event_id: uuid.UUID | None = Field(default=None, foreign_key="custody_events.id")
    dispatched_at: datetime = timestamp_field()
    received_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
