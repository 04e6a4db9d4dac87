"""Typed client of the certification service, for traceability: was a producer covered on a date?

Paths are relative to the certification service's root (``/v1/...``). A service
that is down gives a 503 (see ``ServiceClient``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from minka_common.clients import ServiceClient
from minka_common.errors import ServiceUnavailable

__all__ = ["CertificationClient", "CertificationEvent", "CertificationEventPage", "CoverageStatus", "StandardRef"]


class StandardRef(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str
    version: str


class CoverageStatus(BaseModel):
    """The certification service's answer for a cooperative (and member) on a date."""

    model_config = ConfigDict(extra="ignore")

    cooperative_id: uuid.UUID
    member_id: uuid.UUID | None = None
    on: date
    covered: bool
    tier: str | None = None
    standards: list[StandardRef] = []
    forest_smart: bool = False
    certificate_number: str | None = None
    certification_status: str | None = None
    reason: str | None = None


class CertificationEvent(BaseModel):
    """One event of certification's feed (``GET /v1/events``); ``data`` as the event type defines it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    cursor: str
    type: str
    subject: str
    occurred_at: datetime
    data: dict[str, Any]


class CertificationEventPage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items: list[CertificationEvent]
    next_cursor: str
    has_more: bool


class CertificationClient(ServiceClient):
    service_name = "certification"

    async def status(self, cooperative_id: uuid.UUID, member_id: uuid.UUID | None, on: date) -> CoverageStatus:
        params = {"cooperative_id": str(cooperative_id), "on": on.isoformat()}
        if member_id is not None:
            params["member_id"] = str(member_id)
        found = await self.get_json("/v1/status", params)
        if found is None:
            raise ServiceUnavailable("certification has no status endpoint at the configured address")
        return CoverageStatus.model_validate(found)

    async def events(self, after: str | None, types: Sequence[str] = (), limit: int = 100) -> CertificationEventPage:
        """The events after a cursor (``next_cursor`` or an event's ``cursor``; None for the start), oldest first.
        Needs a service token: the feed shows a caller only what its role may see."""
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        if types:
            params["type"] = list(types)
        found = await self.get_json("/v1/events", params)
        if found is None:
            raise ServiceUnavailable("certification has no event feed at the configured address")
        return CertificationEventPage.model_validate(found)
