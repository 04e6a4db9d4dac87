"""EPCIS documents captured from other systems: each capture, its events, and the identifiers they mention."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlmodel import Field

from minka_common.db import UtcDateTime, timestamp_field
from minka_common.ids import new_id
from minka_traceability.database import TraceabilityModel


class Capture(TraceabilityModel, table=True):
    __tablename__ = "epcis_captures"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: uuid.UUID | None = Field(default=None, index=True, description="the capturing organisation")
    actor: str = Field(max_length=255)
    event_count: int
    captured_at: datetime = timestamp_field()


class CapturedEvent(TraceabilityModel, table=True):
    __tablename__ = "epcis_events"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    capture_id: uuid.UUID = Field(foreign_key="epcis_captures.id", index=True)
    organization_id: uuid.UUID | None = Field(default=None, index=True)
    event_id: str | None = Field(default=None, sa_type=String(500), unique=True, description="the document's eventID")
    type: str = Field(sa_type=String(40))
    event_time: datetime = Field(sa_type=UtcDateTime, nullable=False)
    event_json: str = Field(sa_type=Text, description="the event as captured, numbers exact")


class CapturedIdentifier(TraceabilityModel, table=True):
    """An EPC or EPC class an event mentions, so captured events can be looked up by identifier."""

    __tablename__ = "epcis_event_identifiers"
    __table_args__ = (Index("ix_epcis_event_identifiers_uri", "uri"),)

    event_id: uuid.UUID = Field(foreign_key="epcis_events.id", primary_key=True)
    uri: str = Field(sa_type=String(500), primary_key=True)
