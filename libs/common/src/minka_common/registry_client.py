"""Typed client of the registry, for the other services: organisations, members, sites and memberships.

Paths are relative to the registry's root (``/v1/...``), so the same client
works against the registry standalone and behind the gateway's ``/registry``
prefix. Lists are followed through every page. Unknown ids give None; a
registry that is down gives a 503 (see ``ServiceClient``).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from minka_common.clients import ClientCredentialsTokens, ServiceClient
from minka_common.pagination import MAX_PAGE_SIZE

__all__ = ["MemberInfo", "MembershipInfo", "OrganizationInfo", "RegistryClient", "SiteInfo"]


class _RegistryModel(BaseModel):
    # The registry may add fields; a client that is not updated yet must keep working.
    model_config = ConfigDict(extra="ignore")


class OrganizationInfo(_RegistryModel):
    id: uuid.UUID
    kind: str
    name: str
    country: str


class SiteInfo(_RegistryModel):
    id: uuid.UUID
    cooperative_id: uuid.UUID
    name: str
    minerals: list[str]
    status: str
    forest_distance_km: float | None
    forest_smart_applicable: bool
    capacity_kg_per_month: Decimal | None = None


class MembershipInfo(_RegistryModel):
    miner_id: uuid.UUID
    cooperative_id: uuid.UUID
    joined_on: date
    left_on: date | None

    def covers(self, on: date) -> bool:
        """A member from the joining day up to the day before ``left_on`` (as the registry's ``?on=`` lists)."""
        return self.joined_on <= on and (self.left_on is None or self.left_on > on)


class MemberInfo(_RegistryModel):
    """A member of a cooperative on a given date."""

    id: uuid.UUID  # the miner id
    full_name: str
    site_id: uuid.UUID | None
    joined_on: date  # of the membership covering the date asked


class RegistryClient(ServiceClient):
    service_name = "registry"

    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: ClientCredentialsTokens | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        **options: Any,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
        super().__init__(http, tokens, **options)
        self.page_size = page_size

    async def organization(self, organization_id: uuid.UUID) -> OrganizationInfo | None:
        found = await self.get_json(f"/v1/organizations/{organization_id}")
        return None if found is None else OrganizationInfo.model_validate(found)

    async def members_on(self, cooperative_id: uuid.UUID, on: date) -> list[MemberInfo] | None:
        """The cooperative's members on ``on``; None when there is no such cooperative."""
        items = await self._every_page(f"/v1/cooperatives/{cooperative_id}/members", {"on": on.isoformat()})
        return None if items is None else [_member(item) for item in items]

    async def sites_of(self, cooperative_id: uuid.UUID) -> list[SiteInfo]:
        """Every site of the cooperative (none for an unknown cooperative)."""
        items = await self._every_page("/v1/sites", {"cooperative_id": str(cooperative_id)})
        return [SiteInfo.model_validate(item) for item in items or []]

    async def site(self, site_id: uuid.UUID) -> SiteInfo | None:
        found = await self.get_json(f"/v1/sites/{site_id}")
        return None if found is None else SiteInfo.model_validate(found)

    async def memberships(self, miner_id: uuid.UUID) -> list[MembershipInfo] | None:
        """The miner's whole membership history, oldest first; None when there is no such miner."""
        found = await self.get_json(f"/v1/miners/{miner_id}/memberships")
        return None if found is None else [MembershipInfo.model_validate(item) for item in found]

    async def _every_page(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The items of every page of a cursor-paginated list; None when the list itself is not found."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await self.get_json(path, {**params, "limit": self.page_size, **({"cursor": cursor} if cursor else {})})
            if page is None:
                return None
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items


def _member(item: dict[str, Any]) -> MemberInfo:
    """A member from a members-list item, whose ``membership`` is the one covering the date asked."""
    return MemberInfo.model_validate({**item, "joined_on": item["membership"]["joined_on"]})
