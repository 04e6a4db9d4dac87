"""Domain events: the transactional outbox, the feed served from it, and webhooks."""

from minka_common.events.outbox import record_event
from minka_common.events.tables import EventTables, event_tables

__all__ = ["EventTables", "event_tables", "record_event"]
