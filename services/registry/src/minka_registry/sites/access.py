"""Who sees and changes which site, and who loads forest layers: the one place these rules live.

- admin, authority, service, certifier, buyer: read every site;
- coop_manager: reads only its own cooperative's sites; another cooperative's site
  (or a site *for* another cooperative) is reported as missing (404), never forbidden;
- writes (create, change a site): admin, and a coop_manager for its own cooperative;
  other roles get 403;
- forest layers: everybody authenticated reads them; only admin uploads.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, true

from minka_common.auth import Principal, Role
from minka_common.errors import Forbidden, NotFound
from minka_registry.sites.models import Site

SITE_WRITER_ROLES = frozenset({Role.admin, Role.coop_manager})
FOREST_LAYER_WRITER_ROLES = frozenset({Role.admin})


def site_scope(principal: Principal) -> uuid.UUID | None:
    """The visibility rule: the one cooperative whose sites the caller sees, or None for every cooperative."""
    if principal.role != Role.coop_manager:
        return None
    if principal.organization_id is None:
        raise Forbidden("this account is not bound to an organisation")
    return principal.organization_id


def visible_sites(principal: Principal) -> ColumnElement[bool]:
    """SQL condition selecting the sites the caller may see."""
    scope = site_scope(principal)
    return true() if scope is None else Site.cooperative_id == scope


def may_see_cooperative_sites(principal: Principal, cooperative_id: uuid.UUID) -> bool:
    scope = site_scope(principal)
    return scope is None or scope == cooperative_id


def ensure_may_write_sites(principal: Principal, cooperative_id: uuid.UUID) -> None:
    """Create or change a site of this cooperative: 403 for read-only roles, 404 for another tenant."""
    if principal.role not in SITE_WRITER_ROLES:
        raise Forbidden(f"role {principal.role.value} may not change sites")
    if not may_see_cooperative_sites(principal, cooperative_id):
        raise NotFound("cooperative not found")


def ensure_may_upload_forest_layer(principal: Principal) -> None:
    if principal.role not in FOREST_LAYER_WRITER_ROLES:
        raise Forbidden("only an admin may upload forest layers")
