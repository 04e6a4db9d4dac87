"""Who may see and change miners, memberships and members lists: the one place these rules live.

- admin: everything;
- authority and service: read everything, write nothing (403);
- coop_manager: reads and writes only miners whose ``cooperative_id`` is its
  own organisation; another cooperative's miners and members lists are
  reported as missing (404), never as forbidden;
- certifier and buyer: no access to miners' personal data at all (403).

``national_id`` is shown only to admin, authority and the miner's own
cooperative manager (never to the service role, certifiers or buyers).
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, false, true

from minka_common.auth import Principal, Role
from minka_common.errors import Forbidden, NotFound
from minka_registry.miners.models import Miner

READ_ROLES = frozenset({Role.admin, Role.authority, Role.service, Role.coop_manager})
WRITE_ROLES = frozenset({Role.admin, Role.coop_manager})
NATIONAL_ID_ROLES = frozenset({Role.admin, Role.authority})


def ensure_may_read_miners(principal: Principal) -> None:
    if principal.role not in READ_ROLES:
        raise Forbidden(f"role {principal.role.value} has no access to miners' personal data")


def ensure_may_write_miners(principal: Principal) -> None:
    ensure_may_read_miners(principal)
    if principal.role not in WRITE_ROLES:
        raise Forbidden(f"role {principal.role.value} may read miners but not change them")


def visible_miners(principal: Principal) -> ColumnElement[bool]:
    """SQL filter: the miners this caller may see (call ``ensure_may_read_miners`` first)."""
    if principal.role != Role.coop_manager:
        return true()
    if principal.organization_id is None:
        return false()
    return Miner.cooperative_id == principal.organization_id


def may_see_miner(principal: Principal, miner: Miner) -> bool:
    """The same rule as ``visible_miners``, for a miner already loaded."""
    if principal.role not in READ_ROLES:
        return False
    return principal.role != Role.coop_manager or principal.belongs_to(miner.cooperative_id)


def ensure_cooperative_in_scope(principal: Principal, cooperative_id: uuid.UUID) -> None:
    """A coop manager acts only on its own cooperative; any other one is reported as missing."""
    if principal.role == Role.coop_manager and not principal.belongs_to(cooperative_id):
        raise NotFound("cooperative not found")


def may_see_national_id(principal: Principal, miner: Miner) -> bool:
    if principal.role in NATIONAL_ID_ROLES:
        return True
    return principal.role == Role.coop_manager and principal.belongs_to(miner.cooperative_id)
