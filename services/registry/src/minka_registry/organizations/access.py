"""Who sees which organisation: the one place this rule lives."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, or_, true

from minka_common.auth import Principal, Role
from minka_common.errors import Forbidden
from minka_registry.organizations.models import Organization, OrganizationKind


def visible_organizations(principal: Principal) -> ColumnElement[bool]:
    """Coop managers see their own cooperative and every non-cooperative organisation; other roles see all."""
    if principal.role != Role.coop_manager:
        return true()
    return or_(Organization.kind != OrganizationKind.cooperative, Organization.id == principal.organization_id)


def ensure_may_edit_organization(principal: Principal, organization_id: uuid.UUID) -> None:
    if principal.role == Role.admin:
        return
    if principal.role == Role.coop_manager and principal.organization_id == organization_id:
        return
    raise Forbidden("only an admin or the organisation's own manager may change it")
