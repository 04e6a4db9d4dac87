"""Who may see and act on a certification.

Certifiers act only on certifications their body runs; coop managers read their own
cooperative's and record its internal inspections; admin, authority and service read
everything (admin also acts). Buyers and the public see certificates and status only.
A certification the caller may not see is reported as missing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import false, true

from minka_certification.certifications.models import Certification
from minka_common.auth import Principal, Role, require_roles
from minka_common.errors import Forbidden

READERS = frozenset({Role.admin, Role.authority, Role.service, Role.certifier, Role.coop_manager})


def visible_certifications(principal: Principal) -> Any:
    if principal.role not in READERS:
        raise Forbidden(f"role {principal.role.value} may read certificates and status only")
    if principal.is_unscoped:
        return true()
    if principal.organization_id is None:
        return false()
    if principal.role == Role.certifier:
        return Certification.certification_body_id == principal.organization_id
    return Certification.cooperative_id == principal.organization_id


Runner = Annotated[Principal, Depends(require_roles(Role.admin, Role.certifier))]
"""Audits, results, findings and decisions: the certification body (or admin); another body's are 404."""

Inspector = Annotated[Principal, Depends(require_roles(Role.admin, Role.coop_manager))]
"""Internal inspections belong to the cooperative's own internal control system (or admin)."""
