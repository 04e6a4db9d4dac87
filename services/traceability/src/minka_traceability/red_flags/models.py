"""Red flags (OECD Annex II style), raised by the rules in ``red_flags.rules`` and closed by a person."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, String
from sqlmodel import Field

from minka_common.db import UtcDateTime, timestamp_field
from minka_common.ids import new_id
from minka_traceability.database import TraceabilityModel


class RedFlag(TraceabilityModel, table=True):
    __tablename__ = "red_flags"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    rule: str = Field(sa_type=String(40), index=True)
    lot_id: uuid.UUID = Field(foreign_key="lots.id", index=True)
    message: str = Field(max_length=1000)
    details: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    raised_at: datetime = timestamp_field()
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    closed_by: str | None = Field(default=None, max_length=255)
    closing_note: str | None = Field(default=None, max_length=2000)
