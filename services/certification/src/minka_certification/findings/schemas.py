from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from minka_certification.certifications.lifecycle import Severity
from minka_certification.findings.models import Finding
from minka_common.types import Text


class FindingCreate(BaseModel):
    indicator: Text = Field(max_length=50)
    severity: Severity
    due_on: date | None = Field(None, description="defaults: minor 12 months, major 90 days, critical today")
    member_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    description: Text | None = Field(None, max_length=2000)


class FindingClose(BaseModel):
    note: Text | None = Field(None, max_length=2000, description="the corrective action that was verified")


class FindingOut(BaseModel):
    id: uuid.UUID
    certification_id: uuid.UUID
    audit_id: uuid.UUID | None
    indicator: str
    severity: Severity
    member_id: uuid.UUID | None
    site_id: uuid.UUID | None
    description: str | None
    opened_at: datetime
    due_on: date
    status: str = Field(description="open or closed")
    overdue: bool
    closed_at: datetime | None
    close_note: str | None


def finding_out(finding: Finding, today: date) -> FindingOut:
    is_open = finding.closed_at is None
    return FindingOut(
        **finding.model_dump(exclude={"opened_by", "closed_by"}),
        status="open" if is_open else "closed",
        overdue=is_open and finding.due_on < today,
    )
