"""``GET /v1/lots/{id}/provenance`` (upstream to every origin) and ``…/downstream`` (what was made from it)."""

from __future__ import annotations

import uuid
from collections import defaultdict

from fastapi import APIRouter
from pydantic import BaseModel, Field

from minka_traceability.access import Reader, acting_organization, readable_lot
from minka_traceability.database import Session
from minka_traceability.graph import Direction, Graph, held_within, load_graph
from minka_traceability.lots.models import LotRole
from minka_traceability.lots.schemas import EventOut, LotOut, OriginOut, event_out, lot_out, origin_out

router = APIRouter(prefix="/v1", tags=["provenance"])


class ProvenanceOut(BaseModel):
    lot_id: uuid.UUID
    lots: list[LotOut] = Field(description="the lot and every lot upstream of it")
    events: list[EventOut] = Field(description="the events that made and moved them, oldest first")
    origins: list[OriginOut] = Field(description="every origin lot: site, cooperative, certificate and tier")


class DownstreamOut(BaseModel):
    lot_id: uuid.UUID
    lots: list[LotOut] = Field(description="the lot and the lots made from it that the caller may read")
    events: list[EventOut]


def _events_out(graph: Graph) -> list[EventOut]:
    return [event_out(event, graph.parts_of(event.id)) for event in graph.events]


@router.get("/lots/{lot_id}/provenance", response_model=ProvenanceOut,
            summary="The upstream graph of a lot to every origin, in one recursive query")
async def provenance(lot_id: uuid.UUID, session: Session, principal: Reader) -> ProvenanceOut:
    lot = await readable_lot(session, principal, lot_id)
    graph = await load_graph(session, lot.id, Direction.upstream)
    origins = [origin for origin in map(origin_out, graph.lots) if origin is not None]
    return ProvenanceOut(lot_id=lot.id, lots=[lot_out(each) for each in graph.lots], events=_events_out(graph),
                         origins=origins)


@router.get("/lots/{lot_id}/downstream", response_model=DownstreamOut,
            summary="The downstream graph of a lot: the lots made from it, as far as the caller may read them")
async def downstream(lot_id: uuid.UUID, session: Session, principal: Reader) -> DownstreamOut:
    lot = await readable_lot(session, principal, lot_id)
    graph = await load_graph(session, lot.id, Direction.downstream)
    if principal.is_unscoped:
        readable = {each.id for each in graph.lots}
    else:
        held = await held_within(session, lot.id, Direction.downstream, acting_organization(principal))
        readable = readable_within(graph, held)
    events = [event for event in _events_out(graph) if _made_only(event, readable)]
    return DownstreamOut(lot_id=lot.id, lots=[lot_out(each) for each in graph.lots if each.id in readable],
                         events=events)


def _made_only(event: EventOut, readable: set[uuid.UUID]) -> bool:
    """An event is shown when every lot it made or moved is one the caller may read."""
    made = [part.lot_id for part in event.outputs] + ([event.subject.lot_id] if event.subject else [])
    return all(lot_id in readable for lot_id in made)


def readable_within(graph: Graph, held: set[uuid.UUID]) -> set[uuid.UUID]:
    """The lots of a downstream graph an organisation may read: those it holds or held and, walking back
    from them, every lot they were made from."""
    made_from: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for event in graph.events:
        parts = graph.parts_of(event.id)
        inputs = {part.lot_id for part in parts if part.role == LotRole.input.value}
        for part in parts:
            if part.role == LotRole.output.value:
                made_from[part.lot_id] |= inputs
    readable, pending = set(held), list(held)
    while pending:
        for source in made_from[pending.pop()] - readable:
            readable.add(source)
            pending.append(source)
    return readable
