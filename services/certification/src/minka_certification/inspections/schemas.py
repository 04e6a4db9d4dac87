from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field, model_validator

from minka_certification.inspections.rules import Sanction
from minka_certification.tiers import Outcome
from minka_common.types import Text


class InspectionResult(BaseModel):
    indicator: Text = Field(max_length=50)
    outcome: Outcome
    site_id: uuid.UUID | None = Field(None, description="for site-scoped indicators")
    note: Text | None = Field(None, max_length=2000)


class InspectionCreate(BaseModel):
    member_id: uuid.UUID
    inspected_on: date | None = Field(None, description="default today")
    results: list[InspectionResult] = Field(default_factory=list, max_length=500)
    sanction: Sanction | None = None
    sanction_until: date | None = Field(None, description="end of a suspension (inclusive); open-ended when absent")
    lifts_sanction: bool = Field(False, description="ends a suspension in force")
    note: Text | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _sanction_fields_agree(self) -> InspectionCreate:
        if self.sanction_until is not None and self.sanction != Sanction.suspension:
            raise ValueError("sanction_until goes only with a suspension")
        if self.lifts_sanction and self.sanction is not None:
            raise ValueError("an inspection either imposes a sanction or lifts one")
        return self


class InspectionOut(BaseModel):
    id: uuid.UUID
    certification_id: uuid.UUID
    member_id: uuid.UUID
    inspected_on: date
    results: list[InspectionResult]
    sanction: Sanction | None
    sanction_until: date | None
    lifts_sanction: bool
    note: str | None
    inspector: str
    created_at: datetime
