from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import select

from minka_common.auth import CurrentPrincipal, Principal, Role, require_roles
from minka_common.db import one_or_not_found
from minka_common.ids import utcnow
from minka_common.pagination import Page, PageParams, paginate
from minka_common.unit_of_work import UnitOfWorkRoute
from minka_registry.database import Session
from minka_registry.organizations.access import ensure_may_edit_organization, visible_organizations
from minka_registry.organizations.models import Organization, OrganizationKind
from minka_registry.organizations.schemas import OrganizationCreate, OrganizationOut, OrganizationUpdate

router = APIRouter(prefix="/v1/organizations", tags=["organizations"], route_class=UnitOfWorkRoute)


def _out(organization: Organization) -> OrganizationOut:
    return OrganizationOut.model_validate(organization, from_attributes=True)


async def load_visible_organization(session: Session, principal: Principal, organization_id: uuid.UUID) -> Organization:
    statement = select(Organization).where(Organization.id == organization_id, visible_organizations(principal))
    return await one_or_not_found(session, statement, "organisation")


@router.post("", status_code=201, response_model=OrganizationOut, summary="Register an organisation (admin)")
async def create_organization(
    body: OrganizationCreate, session: Session, _: Annotated[Principal, Depends(require_roles(Role.admin))]
) -> OrganizationOut:
    organization = Organization(**body.model_dump())
    session.add(organization)
    await session.flush()
    return _out(organization)


@router.get("", response_model=Page[OrganizationOut], summary="List organisations")
async def list_organizations(
    session: Session,
    principal: CurrentPrincipal,
    page: PageParams,
    kind: Annotated[OrganizationKind | None, Query()] = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
) -> Page[OrganizationOut]:
    statement = select(Organization).where(visible_organizations(principal))
    if kind is not None:
        statement = statement.where(Organization.kind == kind)
    if country is not None:
        statement = statement.where(Organization.country == country.upper())
    return await paginate(session, statement, Organization.id, page, _out)


@router.get("/{organization_id}", response_model=OrganizationOut, summary="One organisation")
async def get_organization(organization_id: uuid.UUID, session: Session, principal: CurrentPrincipal) -> OrganizationOut:
    return _out(await load_visible_organization(session, principal, organization_id))


@router.patch("/{organization_id}", response_model=OrganizationOut, summary="Change an organisation")
async def update_organization(
    organization_id: uuid.UUID, body: OrganizationUpdate, session: Session, principal: CurrentPrincipal
) -> OrganizationOut:
    organization = await load_visible_organization(session, principal, organization_id)
    ensure_may_edit_organization(principal, organization.id)
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(organization, field, value)
    organization.updated_at = utcnow()
    session.add(organization)
    await session.flush()
    return _out(organization)
