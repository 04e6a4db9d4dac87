"""The lot graph, walked by one recursive query per direction.

Upstream of a lot: the inputs of the event that produced it, and theirs, to every
origin. Downstream: the outputs of the events that consumed it, and theirs. Each
step follows ``ix_event_lots_lot_role_event`` and the primary key of ``event_lots``,
so a walk reads the lot's own graph and nothing else. ``UNION`` (not ``UNION ALL``)
visits a lot reached along two paths once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import CTE, Select, and_, literal, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_traceability.lots.models import CustodyEvent, EventLot, Lot, LotHolder, LotRole

event_lots = EventLot.__table__  # type: ignore[attr-defined]


class Direction(StrEnum):
    upstream = "upstream"
    downstream = "downstream"


# Upstream, a lot is reached as an event's output and continues through its inputs; downstream, the reverse.
_STEP_ROLES = {
    Direction.upstream: (LotRole.output, LotRole.input),
    Direction.downstream: (LotRole.input, LotRole.output),
}
# The events worth showing for a set of lots: those that made or moved them (upstream), or used or moved them.
EVENT_ROLES = {
    Direction.upstream: (LotRole.output, LotRole.subject),
    Direction.downstream: (LotRole.input, LotRole.subject),
}


def walk(start: uuid.UUID | Select[Any], direction: Direction, name: str = "walk") -> CTE:
    """A recursive CTE of ``lot_id``s: the start lot(s) and everything up- or downstream of them."""
    seed = (
        select(literal(start, event_lots.c.lot_id.type).label("lot_id"))
        if isinstance(start, uuid.UUID) else start
    )
    reached = seed.cte(name, recursive=True)
    arrived_as, leaves_as = _STEP_ROLES[direction]
    arrived, leaves = event_lots.alias(f"{name}_arrived"), event_lots.alias(f"{name}_leaves")
    step = (
        select(leaves.c.lot_id)
        .select_from(reached)
        .join(arrived, and_(arrived.c.lot_id == reached.c.lot_id, arrived.c.role == arrived_as.value))
        .join(leaves, and_(leaves.c.event_id == arrived.c.event_id, leaves.c.role == leaves_as.value))
    )
    return reached.union(step)


def events_touching(lots: CTE, roles: Iterable[LotRole]) -> Select[Any]:
    """Ids of the events in which a lot of ``lots`` took one of ``roles``."""
    return (
        select(event_lots.c.event_id)
        .join(lots, lots.c.lot_id == event_lots.c.lot_id)
        .where(event_lots.c.role.in_([role.value for role in roles]))
    )


class Graph:
    """A lot's up- or downstream graph: its lots, the events among them, and each event's lot rows."""

    def __init__(self, lots: list[Lot], events: list[CustodyEvent], parts: list[EventLot]) -> None:
        self.lots, self.events = lots, events
        self._parts: dict[uuid.UUID, list[EventLot]] = defaultdict(list)
        for part in parts:
            self._parts[part.event_id].append(part)

    def parts_of(self, event_id: uuid.UUID) -> list[EventLot]:
        return self._parts[event_id]


async def load_graph(session: AsyncSession, lot_id: uuid.UUID, direction: Direction) -> Graph:
    reached = walk(lot_id, direction)
    lots = (await session.exec(
        select(Lot).join(reached, reached.c.lot_id == Lot.id).order_by(Lot.id)  # type: ignore[arg-type]
    )).scalars().all()
    event_ids = events_touching(reached, EVENT_ROLES[direction])
    events = (await session.exec(
        select(CustodyEvent).where(col(CustodyEvent.id).in_(event_ids)).order_by(CustodyEvent.at, CustodyEvent.id)
    )).scalars().all()
    parts = (await session.exec(
        select(EventLot).where(col(EventLot.event_id).in_(event_ids))
    )).scalars().all()
    return Graph(list(lots), list(events), list(parts))


def held_by(organization_id: uuid.UUID) -> Select[Any]:
    return select(LotHolder.lot_id).where(LotHolder.organization_id == organization_id)  # type: ignore[arg-type]


async def is_visible_to(session: AsyncSession, lot_id: uuid.UUID, organization_id: uuid.UUID) -> bool:
    """An organisation sees the lots it holds or held, and everything upstream of them: that is, a lot
    is visible when the organisation holds or held the lot itself or something made from it."""
    downstream = walk(lot_id, Direction.downstream, "visible")
    statement = (
        select(LotHolder.lot_id)
        .join(downstream, downstream.c.lot_id == LotHolder.lot_id)
        .where(LotHolder.organization_id == organization_id)
        .limit(1)
    )
    return (await session.exec(statement)).first() is not None  # type: ignore[call-overload]


async def held_within(
    session: AsyncSession, lot_id: uuid.UUID, direction: Direction, organization_id: uuid.UUID
) -> set[uuid.UUID]:
    """The lots of one lot's graph that an organisation holds or held."""
    reached = walk(lot_id, direction, "held_within")
    statement = (
        select(LotHolder.lot_id)
        .join(reached, reached.c.lot_id == LotHolder.lot_id)
        .where(LotHolder.organization_id == organization_id)
    )
    return set((await session.exec(statement)).scalars().all())  # type: ignore[call-overload]


def visible_lots(organization_id: uuid.UUID) -> CTE:
    """Every lot an organisation may read: held ones and their whole upstream."""
    return walk(held_by(organization_id), Direction.upstream, "visible_lots")
