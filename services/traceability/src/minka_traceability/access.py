"""Who may read and act on a lot.

Reading: admin, authority and service read everything; a coop manager or a buyer
(trader, refiner) reads the lots its organisation holds or held and their upstream
(``graph.is_visible_to``); a lot the caller may not read is reported as missing.
Acting: only the current custodian splits, merges, transforms or dispatches, and
only the named receiver receives; admin included, nobody acts for another
organisation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.auth import Principal, Role, require_roles
from minka_common.errors import Forbidden, NotFound
from minka_traceability.graph import is_visible_to
from minka_traceability.lots.models import Lot

ORGANIZATION_READERS = frozenset({Role.coop_manager, Role.buyer})

Reader = Annotated[
    Principal, Depends(require_roles(Role.admin, Role.authority, Role.service, Role.coop_manager, Role.buyer))
]
Custodian = Annotated[Principal, Depends(require_roles(Role.coop_manager, Role.buyer))]
"""Roles that hold lots for their organisation."""
Producer = Annotated[Principal, Depends(require_roles(Role.coop_manager))]
"""Origin lots are created by the cooperative that owns the site."""


def acting_organization(principal: Principal) -> uuid.UUID:
    if principal.organization_id is None:
        raise Forbidden("this account is not bound to an organisation")
    return principal.organization_id


async def may_read(session: AsyncSession, principal: Principal, lot_id: uuid.UUID) -> bool:
    if principal.is_unscoped:
        return True
    if principal.organization_id is None:
        return False
    return await is_visible_to(session, lot_id, principal.organization_id)


async def readable_lot(session: AsyncSession, principal: Principal, lot_id: uuid.UUID) -> Lot:
    lot = await session.get(Lot, lot_id)
    if lot is None or not await may_read(session, principal, lot_id):
        raise NotFound("lot not found")
    return lot


async def custodied_lot(session: AsyncSession, principal: Principal, lot_id: uuid.UUID) -> Lot:
    """A lot the caller's organisation holds now; one it may only read is a 403, one it may not read a 404."""
    return await _held_now(session, principal, lot_id, await session.get(Lot, lot_id))


async def custodied_lots(session: AsyncSession, principal: Principal, lot_ids: Sequence[uuid.UUID]) -> list[Lot]:
    """As ``custodied_lot`` for several lots, read in one query."""
    found = {lot.id: lot for lot in (await session.exec(select(Lot).where(col(Lot.id).in_(lot_ids)))).all()}
    return [await _held_now(session, principal, lot_id, found.get(lot_id)) for lot_id in lot_ids]


async def _held_now(session: AsyncSession, principal: Principal, lot_id: uuid.UUID, lot: Lot | None) -> Lot:
    if lot is not None and lot.custodian_id == acting_organization(principal):
        return lot  # its custodian may read it: no need to walk the graph
    if lot is None or not await may_read(session, principal, lot_id):
        raise NotFound("lot not found")
    raise Forbidden("only the lot's current custodian may do this")
