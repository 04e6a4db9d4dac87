"""The tables behind every service's event feed and webhooks, declared on the service's own metadata.

- ``events``: the outbox. A domain event is written in the same transaction as the change it
  describes; ``position`` orders the feed and is assigned in commit order (see ``outbox``).
- ``event_audience``: which organisations may see an event (unscoped roles see every event).
- ``event_cursors``: how far a consumer inside the service (the webhook fan-out, a feed of another
  service it follows) has got.
- ``webhooks`` and ``webhook_deliveries``: endpoints registered by integrators and one delivery per
  event per endpoint, with its state.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from minka_common.db import UtcDateTime

Position = BigInteger().with_variant(Integer, "sqlite")  # SQLite only auto-increments INTEGER PRIMARY KEY
MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class EventTables:
    events: Table
    audience: Table
    cursors: Table
    webhooks: Table
    deliveries: Table


def event_tables(metadata: MetaData) -> EventTables:
    events = Table(
        "events",
        metadata,
        Column("position", Position, primary_key=True, autoincrement=True),
        Column("id", String(36), nullable=False, unique=True),
        Column("type", String(64), nullable=False),
        Column("subject", String(100), nullable=False),
        Column("occurred_at", UtcDateTime, nullable=False),
        Column("data", JSON, nullable=False),
        sqlite_autoincrement=True,
    )
    audience = Table(
        "event_audience",
        metadata,
        Column("organization_id", String(36), primary_key=True),
        Column("position", Position, ForeignKey("events.position"), primary_key=True),
    )
    cursors = Table(
        "event_cursors",
        metadata,
        Column("name", String(64), primary_key=True),
        Column("position", Position, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    )
    webhooks = Table(
        "webhooks",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("organization_id", String(36), nullable=True, index=True),
        Column("sees_all", Boolean, nullable=False),
        Column("url", String(MAX_URL_LENGTH), nullable=False),
        Column("event_types", JSON, nullable=False),
        Column("secret", String(100), nullable=False),
        Column("description", String(500), nullable=True),
        Column("created_by", String(255), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("disabled_at", UtcDateTime, nullable=True),
        Column("from_position", Position, nullable=False),
    )
    deliveries = Table(
        "webhook_deliveries",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("webhook_id", String(36), ForeignKey("webhooks.id"), nullable=False),
        Column("position", Position, ForeignKey("events.position"), nullable=False),
        Column("subject", String(100), nullable=False),
        Column("state", String(16), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("next_attempt_at", UtcDateTime, nullable=True),
        Column("last_attempt_at", UtcDateTime, nullable=True),
        Column("last_status_code", Integer, nullable=True),
        Column("last_error", Text, nullable=True),
        Column("delivered_at", UtcDateTime, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        Index("uq_webhook_deliveries_webhook_position", "webhook_id", "position", unique=True),
        Index("ix_webhook_deliveries_state_due", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook_subject", "webhook_id", "subject", "position"),
    )
    return EventTables(events, audience, cursors, webhooks, deliveries)
