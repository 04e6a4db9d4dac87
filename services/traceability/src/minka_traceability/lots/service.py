"""Custody operations: create at origin, split, merge, transform. Each is one transaction.

Mass is conserved exactly (outputs + declared loss = inputs) and a lot is consumed
by a conditional update (``status = 'active'`` and the caller's organisation as
custodian), so of concurrent requests consuming the same lot exactly one commits and
the others get 409; no in-process lock is involved.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.certification_client import CertificationClient
from minka_common.errors import Conflict, Unprocessable
from minka_common.mass import MAX_MASS_KG, format_kg
from minka_common.registry_client import RegistryClient, SiteInfo
from minka_traceability import claims as rules
from minka_traceability import events
from minka_traceability.claims import Claims, Portion
from minka_traceability.lots.models import (
    ChainOfCustody,
    CustodyEvent,
    EventKind,
    EventLot,
    Lot,
    LotHolder,
    LotRole,
    LotStatus,
)
from minka_traceability.lots.schemas import LotCreate, MergeRequest, claims_of
from minka_traceability.red_flags import service as red_flags

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O or U to misread on a tag


@dataclass(frozen=True)
class Actor:
    """Who acts, for which organisation, where, and under which idempotency key."""

    subject: str
    organization_id: uuid.UUID
    at: datetime
    place: str | None = None
    idempotency_key: str | None = None


def new_code() -> str:
    """A short public code for tags and QR codes: 12 characters of base 32 (60 bits), in groups of four."""
    characters = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(characters[i:i + 4] for i in range(0, 12, 4))


def set_claims(lot: Lot, claims: Claims) -> Lot:
    lot.tier = claims.tier
    lot.standards = [ref.model_dump() for ref in sorted(claims.standards, key=lambda ref: (ref.code, ref.version))]
    lot.forest_smart, lot.mercury_free, lot.certified_mass_kg = claims.forest_smart, claims.mercury_free, claims.certified_kg
    return lot


async def record_event(
    session: AsyncSession,
    kind: EventKind,
    actor: Actor,
    parts: Sequence[tuple[LotRole, Lot, Decimal]],
    loss_kg: Decimal = Decimal(0),
    **details: Any,
) -> CustodyEvent:
    event = CustodyEvent(
        kind=kind.value, at=actor.at, actor=actor.subject, organization_id=actor.organization_id,
        place=actor.place, idempotency_key=actor.idempotency_key, loss_kg=loss_kg, details=details,
    )
    session.add(event)
    await session.flush()  # the lots and the event exist before the rows that refer to both
    for role, lot, mass_kg in parts:
        session.add(EventLot(event_id=event.id, role=role.value, lot_id=lot.id, mass_kg=mass_kg))
    return event


def hold(session: AsyncSession, organization_id: uuid.UUID, lot: Lot, at: datetime) -> None:
    session.add(LotHolder(organization_id=organization_id, lot_id=lot.id, since=at))


def new_lot(template: Lot, mass_kg: Decimal, claims: Claims, actor: Actor, **changes: Any) -> Lot:
    """A lot made from ``template`` (its commodity, form and model unless changed), held by the actor."""
    lot = Lot(
        code=new_code(), commodity=template.commodity, form=template.form, mass_kg=mass_kg,
        chain_of_custody=template.chain_of_custody, status=LotStatus.active.value,
        custodian_id=actor.organization_id, certified_mass_kg=Decimal(0), created_at=actor.at, updated_at=actor.at,
    )
    for name, value in changes.items():
        setattr(lot, name, value)
    return set_claims(lot, claims)


async def consume(session: AsyncSession, lots: Sequence[Lot], actor: Actor) -> None:
    """Marks the lots consumed, all or none: 409 when one of them is not active in the actor's hands any more."""
    for lot in lots:
        ensure_active(lot)
    result = await session.exec(  # type: ignore[call-overload]
        update(Lot)
        .where(col(Lot.id).in_([lot.id for lot in lots]), col(Lot.status) == LotStatus.active.value,
               col(Lot.custodian_id) == actor.organization_id)
        .values(status=LotStatus.consumed.value, version=Lot.version + 1, updated_at=actor.at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != len(lots):
        await session.rollback()
        raise Conflict("a lot was consumed, dispatched or handed over by a concurrent request; nothing was changed")
    for lot in lots:
        lot.status, lot.version, lot.updated_at = LotStatus.consumed.value, lot.version + 1, actor.at


def made_from(session: AsyncSession, inputs: Sequence[Lot], outputs: Sequence[Lot], event: CustodyEvent) -> None:
    """The domain events of a split, merge or transform: each input consumed, then each output created."""
    for lot in inputs:
        events.lot_consumed(session, lot, event, outputs)
    for output in outputs:
        events.lot_created(session, output, event, inputs)


def ensure_active(lot: Lot) -> None:
    if lot.status == LotStatus.consumed.value:
        raise Conflict(f"lot {lot.code} is consumed and cannot be used again")
    if lot.status == LotStatus.in_transit.value:
        raise Conflict(f"lot {lot.code} is in transit; it can be used after it is received")


def _mass_mismatch(field: str, inputs_kg: Decimal, outputs_kg: Decimal, loss_kg: Decimal) -> Unprocessable:
    return Unprocessable(
        f"mass is not conserved: outputs {format_kg(outputs_kg)} kg + loss {format_kg(loss_kg)} kg "
        f"≠ input {format_kg(inputs_kg)} kg",
        errors=[(field, f"outputs + loss must equal {format_kg(inputs_kg)} kg exactly")],
    )


# --- at origin ---------------------------------------------------------------------------------------------------


async def check_origin(registry: RegistryClient, body: LotCreate, actor: Actor) -> SiteInfo:
    """The registry's facts a lot at origin must agree with: the actor's own active site producing the
    commodity, and the miner a member of the cooperative on the day of production."""
    site = await registry.site(body.site_id)
    if site is None or site.cooperative_id != actor.organization_id:
        raise Unprocessable(errors=[("site_id", "not a site of your cooperative")])
    errors = []
    if site.status != "active":
        errors.append(("site_id", f"the site is {site.status}"))
    if body.commodity.value not in site.minerals:
        errors.append(("commodity", f"the site declares {', '.join(site.minerals)}, not {body.commodity.value}"))
    if body.produced_on > actor.at.date():
        errors.append(("produced_on", "production cannot be in the future"))
    if body.miner_id is not None:
        memberships = await registry.memberships(body.miner_id)
        if memberships is None:
            errors.append(("miner_id", "no such miner"))
        elif not any(m.cooperative_id == site.cooperative_id and m.covers(body.produced_on) for m in memberships):
            errors.append(("miner_id", f"was not a member of the cooperative on {body.produced_on.isoformat()}"))
    if errors:
        raise Unprocessable(errors=errors)
    return site


async def create_origin_lot(
    session: AsyncSession,
    registry: RegistryClient,
    certification: CertificationClient,
    body: LotCreate,
    actor: Actor,
) -> Lot:
    """Asks the registry and certification first, writes after: a dependency that is down leaves nothing behind."""
    site = await check_origin(registry, body, actor)
    cooperative = await registry.organization(site.cooperative_id)
    status = await certification.status(site.cooperative_id, body.miner_id, body.produced_on)
    mass_kg = body.mass.kg
    lot = Lot(
        code=new_code(), commodity=body.commodity.value, form=body.form.value, mass_kg=mass_kg,
        chain_of_custody=body.chain_of_custody.value, status=LotStatus.active.value, custodian_id=site.cooperative_id,
        certified_mass_kg=Decimal(0), site_id=site.id, cooperative_id=site.cooperative_id, miner_id=body.miner_id,
        produced_on=body.produced_on, origin_country=cooperative.country if cooperative else None,
        certificate_number=status.certificate_number if status.covered else None,
        coverage=status.model_dump(mode="json"), created_at=actor.at, updated_at=actor.at,
    )
    set_claims(lot, rules.origin_claims(status, body.mercury_free, mass_kg))
    session.add(lot)
    at_site = replace(actor, place=actor.place or site.name)
    event = await record_event(session, EventKind.create, at_site, [(LotRole.output, lot, mass_kg)],
                               site_id=str(site.id))
    hold(session, actor.organization_id, lot, actor.at)
    events.lot_created(session, lot, event)
    await session.flush()
    red_flags.check_capacity(session, lot, site, await month_production_kg(session, site.id, body.produced_on))
    await session.flush()
    return lot


async def month_production_kg(session: AsyncSession, site_id: uuid.UUID, day: date) -> Decimal:
    """Everything recorded at origin for the site in the calendar month of ``day`` (summed exactly, in Python,
    because SQLite keeps exact decimals as text)."""
    first = day.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    statement = select(Lot.mass_kg).where(Lot.site_id == site_id, col(Lot.produced_on) >= first,
                                          col(Lot.produced_on) < following)
    return sum((await session.exec(statement)).all(), Decimal(0))


# --- split, merge, transform -------------------------------------------------------------------------------------


async def split(session: AsyncSession, lot: Lot, parts_kg: list[Decimal], loss_kg: Decimal, actor: Actor) -> list[Lot]:
    ensure_active(lot)
    if sum(parts_kg, Decimal(0)) + loss_kg != lot.mass_kg:
        raise _mass_mismatch("parts", lot.mass_kg, sum(parts_kg, Decimal(0)), loss_kg)
    segregated = lot.chain_of_custody == ChainOfCustody.segregated.value
    claims = rules.inherited(Portion(claims_of(lot), lot.mass_kg), parts_kg, segregated)
    await consume(session, [lot], actor)
    outputs = [new_lot(lot, part, part_claims, actor) for part, part_claims in zip(parts_kg, claims, strict=True)]
    session.add_all(outputs)
    await session.flush()
    event = await record_event(
        session, EventKind.split, actor,
        [(LotRole.input, lot, lot.mass_kg), *((LotRole.output, out, out.mass_kg) for out in outputs)], loss_kg=loss_kg)
    for output in outputs:
        hold(session, actor.organization_id, output, actor.at)
    made_from(session, [lot], outputs, event)
    await session.flush()
    return outputs


def merge_model(lots: Sequence[Lot], requested: ChainOfCustody | None) -> ChainOfCustody:
    all_segregated = all(lot.chain_of_custody == ChainOfCustody.segregated.value for lot in lots)
    if requested == ChainOfCustody.segregated and not all_segregated:
        raise Unprocessable(errors=[("chain_of_custody", "a segregated merge needs segregated inputs only")])
    return requested or (ChainOfCustody.segregated if all_segregated else ChainOfCustody.mass_balance)


def merge_form(lots: Sequence[Lot], requested: str | None) -> str:
    forms = {lot.form for lot in lots}
    if requested is None and len(forms) > 1:
        raise Unprocessable(errors=[("form", f"the inputs are {', '.join(sorted(forms))}: say which form the merge is")])
    return requested or forms.pop()


async def merge(session: AsyncSession, lots: list[Lot], body: MergeRequest, actor: Actor) -> Lot:
    commodities = {lot.commodity for lot in lots}
    if len(commodities) > 1:
        raise Unprocessable(errors=[("lot_ids", f"lots of different commodities ({', '.join(sorted(commodities))})")])
    model = merge_model(lots, body.chain_of_custody)
    form = merge_form(lots, body.form.value if body.form else None)
    portions = [Portion(claims_of(lot), lot.mass_kg) for lot in lots]
    combine = rules.merged_segregated if model == ChainOfCustody.segregated else rules.merged_mass_balance
    total_kg = sum((lot.mass_kg for lot in lots), Decimal(0))
    if total_kg > MAX_MASS_KG:
        raise Unprocessable(errors=[("lot_ids", f"together {format_kg(total_kg)} kg, more than a lot may weigh "
                                                f"({format_kg(MAX_MASS_KG)} kg)")])
    await consume(session, lots, actor)
    output = new_lot(lots[0], total_kg, combine(portions), actor, form=form, chain_of_custody=model.value)
    session.add(output)
    await session.flush()
    event = await record_event(session, EventKind.merge, actor,
                               [*((LotRole.input, lot, lot.mass_kg) for lot in lots), (LotRole.output, output, total_kg)])
    hold(session, actor.organization_id, output, actor.at)
    made_from(session, lots, [output], event)
    await session.flush()
    return output


async def transform(
    session: AsyncSession, lot: Lot, output_form: str, output_kg: Decimal, process: str, actor: Actor
) -> Lot:
    ensure_active(lot)
    if output_kg > lot.mass_kg:
        raise Unprocessable(
            f"the output ({format_kg(output_kg)} kg) is heavier than the input ({format_kg(lot.mass_kg)} kg)",
            errors=[("output_mass", f"must not exceed {format_kg(lot.mass_kg)} kg")],
        )
    segregated = lot.chain_of_custody == ChainOfCustody.segregated.value
    [claims] = rules.inherited(Portion(claims_of(lot), lot.mass_kg), [output_kg], segregated)
    await consume(session, [lot], actor)
    output = new_lot(lot, output_kg, claims, actor, form=output_form)
    session.add(output)
    await session.flush()
    event = await record_event(session, EventKind.transform, actor,
                               [(LotRole.input, lot, lot.mass_kg), (LotRole.output, output, output_kg)],
                               loss_kg=lot.mass_kg - output_kg, process=process, output_form=output_form)
    hold(session, actor.organization_id, output, actor.at)
    made_from(session, [lot], [output], event)
    await session.flush()
    return output

