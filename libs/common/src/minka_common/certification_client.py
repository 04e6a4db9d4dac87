"""Typed client of the certification service, for traceability: was a producer covered on a date?

Paths are relative to the certification service's root (``/v1/...``). A service
that is down gives a 503 (see ``ServiceClient``).
"""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict

from minka_common.clients import ServiceClient
from minka_common.errors import ServiceUnavailable

__all__ = ["CertificationClient", "CoverageStatus", "StandardRef"]


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
