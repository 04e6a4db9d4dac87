"""Lots, the append-only custody events that make and move them, and who has held each lot.

The lot graph lives in ``event_lots``: an event consumes its ``input`` lots and
produces its ``output`` lots (dispatch and receive touch one ``subject`` lot).
Provenance walks it with a recursive query over the two indexes declared here,
so its cost follows the size of one lot's graph, not the number of lots stored.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field

from minka_common.db import ExactDecimalColumn, UtcDateTime, timestamp_field
from minka_common.ids import new_id
from minka_traceability.database import TraceabilityModel


class LotStatus(StrEnum):
    active = "active"
    in_transit = "in_transit"
    consumed = "consumed"


class ChainOfCustody(StrEnum):
    segregated = "segregated"
    mass_balance = "mass_balance"


class EventKind(StrEnum):
    create = "create"
    dispatch = "dispatch"
    receive = "receive"
    split = "split"
    merge = "merge"
    transform = "transform"


class LotRole(StrEnum):
    input = "input"
    output = "output"
    subject = "subject"


def mass_column(nullable: bool = False) -> Any:
    return Field(sa_column=Column(ExactDecimalColumn(), nullable=nullable))


class Lot(TraceabilityModel, table=True):
    __tablename__ = "lots"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    commodity: str = Field(sa_type=String(30))
    form: str = Field(sa_type=String(30))
    mass_kg: Decimal = mass_column()
    chain_of_custody: str = Field(sa_type=String(20))
    status: str = Field(sa_type=String(20))
    custodian_id: uuid.UUID = Field(index=True)
    version: int = Field(default=1, description="bumped on every change; changes are conditional on it")
    # Claims, copied at creation and combined by the custody rules; never re-derived.
    tier: str | None = Field(default=None, sa_type=String(20))
    standards: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    forest_smart: bool = False
    mercury_free: bool = False
    certified_mass_kg: Decimal = mass_column()
    # Origin facts, on origin lots only.
    site_id: uuid.UUID | None = Field(default=None, index=True)
    cooperative_id: uuid.UUID | None = Field(default=None, index=True)
    miner_id: uuid.UUID | None = None
    produced_on: date | None = None
    origin_country: str | None = Field(default=None, max_length=2)
    certificate_number: str | None = Field(default=None, max_length=40)
    coverage: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON), description="certification's status answer, as given at creation"
    )
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class CustodyEvent(TraceabilityModel, table=True):
    """One custody event; never changed or deleted."""

    __tablename__ = "custody_events"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(sa_type=String(20))
    at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    actor: str = Field(max_length=255)
    organization_id: uuid.UUID | None = None
    place: str | None = Field(default=None, max_length=200)
    idempotency_key: str | None = Field(default=None, max_length=255)
    loss_kg: Decimal = mass_column()
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class EventLot(TraceabilityModel, table=True):
    """A lot's part in an event, with its mass at that moment."""

    __tablename__ = "event_lots"
    __table_args__ = (Index("ix_event_lots_lot_role_event", "lot_id", "role", "event_id"),)

    event_id: uuid.UUID = Field(foreign_key="custody_events.id", primary_key=True)
    role: str = Field(sa_type=String(10), primary_key=True)
    lot_id: uuid.UUID = Field(foreign_key="lots.id", primary_key=True)
    mass_kg: Decimal = mass_column()


class LotHolder(TraceabilityModel, table=True):
    """An organisation that holds or held a lot, or was named as its receiver: it may read the lot and its upstream."""

    __tablename__ = "lot_holders"

    organization_id: uuid.UUID = Field(primary_key=True)
    lot_id: uuid.UUID = Field(foreign_key="lots.id", primary_key=True)
    since: datetime = timestamp_field()
