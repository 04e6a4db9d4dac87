"""Request and response bodies for lots and custody events."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from minka_common.certification_client import StandardRef
from minka_common.mass import Mass, PositiveMass, format_kg
from minka_common.types import storable_line
from minka_traceability.claims import Claims, certified_share
from minka_traceability.lots.models import ChainOfCustody, CustodyEvent, EventLot, Lot, LotRole

MAX_PARTS = 500


class Commodity(StrEnum):
    gold = "gold"
    silver = "silver"
    platinum = "platinum"
    palladium = "palladium"
    tin = "tin"
    tantalum = "tantalum"
    tungsten = "tungsten"
    copper = "copper"
    cobalt = "cobalt"
    lithium = "lithium"
    zinc = "zinc"
    lead = "lead"
    nickel = "nickel"


class LotForm(StrEnum):
    ore = "ore"
    concentrate = "concentrate"
    sponge = "sponge"
    dore = "dore"
    bullion = "bullion"
    granules = "granules"
    other = "other"


ShortLine = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(storable_line)
]
Place = ShortLine


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    place: Place | None = Field(None, description="where the event happened, e.g. a warehouse; default the organisation")


class LotCreate(_Request):
    site_id: uuid.UUID
    miner_id: uuid.UUID | None = Field(None, description="the miner who produced the lot, when known")
    commodity: Commodity
    form: LotForm
    mass: PositiveMass
    produced_on: date
    chain_of_custody: ChainOfCustody = ChainOfCustody.segregated
    mercury_free: bool = Field(False, description="declared by the cooperative: produced without mercury")


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mass: PositiveMass


class SplitRequest(_Request):
    parts: list[Part] = Field(min_length=2, max_length=MAX_PARTS)
    loss: Mass | None = Field(None, description="mass lost in splitting; parts + loss must equal the lot exactly")


class MergeRequest(_Request):
    lot_ids: list[uuid.UUID] = Field(min_length=2, max_length=MAX_PARTS)
    form: LotForm | None = Field(None, description="default: the inputs' form, when they share one")
    chain_of_custody: ChainOfCustody | None = Field(
        None, description="default: segregated when every input is, else mass_balance"
    )


class TransformRequest(_Request):
    output_form: LotForm
    output_mass: PositiveMass
    process: ShortLine = Field(description="e.g. smelting, refining")


class ClaimsOut(BaseModel):
    certified: bool
    tier: str | None
    standards: list[StandardRef]
    forest_smart: bool
    mercury_free: bool
    certified_mass_kg: str = Field(description="exact decimal string")
    certified_share: str = Field(description="certified mass ÷ mass, 4 decimals rounded down")


class OriginOut(BaseModel):
    lot_id: uuid.UUID
    site_id: uuid.UUID
    cooperative_id: uuid.UUID
    miner_id: uuid.UUID | None
    produced_on: date
    country: str | None
    mass_kg: str
    certificate_number: str | None
    tier: str | None = Field(description="the tier certification reported for the producer on the day of production")
    coverage: dict[str, Any] | None = Field(description="certification's status answer, as given at creation")


class LotOut(BaseModel):
    id: uuid.UUID
    code: str
    commodity: str
    form: str
    mass_kg: str
    chain_of_custody: ChainOfCustody
    status: str
    custodian_id: uuid.UUID
    claims: ClaimsOut
    origin: OriginOut | None = Field(description="for lots created at origin; derived lots show theirs in provenance")
    created_at: datetime
    updated_at: datetime


class EventLotOut(BaseModel):
    lot_id: uuid.UUID
    mass_kg: str


class EventOut(BaseModel):
    id: uuid.UUID
    kind: str
    at: datetime
    actor: str
    organization_id: uuid.UUID | None
    place: str | None
    idempotency_key: str | None = Field(description="the Idempotency-Key the event was recorded under, if any")
    loss_kg: str
    inputs: list[EventLotOut]
    outputs: list[EventLotOut]
    subject: EventLotOut | None
    details: dict[str, Any]


class SplitOut(BaseModel):
    lots: list[LotOut]


def claims_of(lot: Lot) -> Claims:
    return Claims(
        tier=lot.tier,
        standards=frozenset(StandardRef.model_validate(ref) for ref in lot.standards),
        forest_smart=lot.forest_smart,
        mercury_free=lot.mercury_free,
        certified_kg=lot.certified_mass_kg,
    )


def claims_out(claims: Claims, mass_kg: Decimal) -> ClaimsOut:
    return ClaimsOut(
        certified=claims.certified,
        tier=claims.tier,
        standards=sorted(claims.standards, key=lambda ref: (ref.code, ref.version)),
        forest_smart=claims.forest_smart,
        mercury_free=claims.mercury_free,
        certified_mass_kg=format_kg(claims.certified_kg),
        certified_share=str(certified_share(claims, mass_kg)),
    )


def origin_out(lot: Lot) -> OriginOut | None:
    if lot.site_id is None or lot.cooperative_id is None or lot.produced_on is None:
        return None
    return OriginOut(
        lot_id=lot.id, site_id=lot.site_id, cooperative_id=lot.cooperative_id, miner_id=lot.miner_id,
        produced_on=lot.produced_on, country=lot.origin_country, mass_kg=format_kg(lot.mass_kg),
        certificate_number=lot.certificate_number, tier=(lot.coverage or {}).get("tier"), coverage=lot.coverage,
    )


def lot_out(lot: Lot) -> LotOut:
    return LotOut(
        id=lot.id, code=lot.code, commodity=lot.commodity, form=lot.form, mass_kg=format_kg(lot.mass_kg),
        chain_of_custody=ChainOfCustody(lot.chain_of_custody), status=lot.status, custodian_id=lot.custodian_id,
        claims=claims_out(claims_of(lot), lot.mass_kg), origin=origin_out(lot),
        created_at=lot.created_at, updated_at=lot.updated_at,
    )


def event_out(event: CustodyEvent, parts: list[EventLot]) -> EventOut:
    def of(role: LotRole) -> list[EventLotOut]:
        return [EventLotOut(lot_id=p.lot_id, mass_kg=format_kg(p.mass_kg)) for p in parts if p.role == role.value]

    subjects = of(LotRole.subject)
    return EventOut(
        id=event.id, kind=event.kind, at=event.at, actor=event.actor, organization_id=event.organization_id,
        place=event.place, idempotency_key=event.idempotency_key, loss_kg=format_kg(event.loss_kg), inputs=of(LotRole.input), outputs=of(LotRole.output),
        subject=subjects[0] if subjects else None, details=event.details,
    )
