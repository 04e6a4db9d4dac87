"""Domain events written in the same transaction as the change they describe (a transactional outbox).

``record_event`` only queues the event on the session; the rows are written just before the
session commits, after everything else is flushed. On PostgreSQL that final step first takes the
``events`` table in EXCLUSIVE mode (reads still go on), held until commit, so positions are handed
out in commit order: a reader that has seen position N can never later find a newly committed
event below N. SQLite has one writer at a time, which gives the same guarantee. Taking the lock
last, when every row lock of the transaction is already held, keeps it from ever deadlocking.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.events.tables import EventTables
from minka_common.ids import new_id, utcnow

_PENDING = "minka_pending_events"


@dataclass(frozen=True)
class PendingEvent:
    tables: EventTables
    type: str
    subject: str
    data: dict[str, Any]
    audience: frozenset[str]
    occurred_at: datetime
    transaction: SessionTransaction  # the innermost transaction (or savepoint) it was recorded in
    id: uuid.UUID = field(default_factory=new_id)


def record_event(
    session: AsyncSession | Session,
    tables: EventTables,
    type: str,
    subject: str,
    data: dict[str, Any],
    audience: Iterable[uuid.UUID | str | None] = (),
    occurred_at: datetime | None = None,
) -> PendingEvent:
    """Queue an event; it is written if and only if this session's transaction commits.
    ``audience``: the organisations that may see it (admin, authority and service see every event).
    Record it after the change it describes, inside that change's transaction."""
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    transaction = sync_session.get_nested_transaction() or sync_session.get_transaction()
    if transaction is None:
        raise RuntimeError(f"event {type} recorded outside a transaction")
    pending = PendingEvent(
        tables, type, subject, data, frozenset(str(org) for org in audience if org is not None), occurred_at or utcnow(),
        transaction,
    )
    sync_session.info.setdefault(_PENDING, []).append(pending)
    return pending


@event.listens_for(Session, "before_commit")
def _write_pending_events(session: Session) -> None:
    pending: list[PendingEvent] = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.flush()
    by_tables: dict[str, tuple[EventTables, list[PendingEvent]]] = {}
    for item in pending:
        by_tables.setdefault(item.tables.events.name, (item.tables, []))[1].append(item)
    for tables, items in by_tables.values():
        _write(session, tables, items)


def _write(session: Session, tables: EventTables, items: list[PendingEvent]) -> None:
    """Multi-row inserts (a CSV import records thousands of events), positions in the order the events were recorded.
    PostgreSQL needs ``sort_by_parameter_order`` for that; SQLite numbers the rows of one INSERT in order anyway, and
    asking it for the sorted form would cost one statement per event."""
    events = tables.events
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text(f"LOCK TABLE {events.name} IN EXCLUSIVE MODE"))
    rows = session.execute(
        insert(events).returning(events.c.id, events.c.position, sort_by_parameter_order=postgres),
        [{"id": str(item.id), "type": item.type, "subject": item.subject, "occurred_at": item.occurred_at,
          "data": item.data} for item in items],
    ).all()
    positions = {row.id: row.position for row in rows}
    audience = [{"organization_id": org, "position": positions[str(item.id)]}
                for item in items for org in sorted(item.audience)]
    if audience:
        session.execute(insert(tables.audience), audience)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_events(session: Session, rolled_back: SessionTransaction) -> None:
    """A rollback forgets the events recorded in the transaction or savepoint it ends, and in savepoints within it."""
    pending: list[PendingEvent] = session.info.get(_PENDING, [])
    session.info[_PENDING] = [item for item in pending if not _within(item.transaction, rolled_back)]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


async def read_events(
    connection: AsyncConnection | AsyncSession,
    tables: EventTables,
    *,
    after: int,
    limit: int,
    organization_id: str | None,
    types: Sequence[str] = (),
) -> Sequence[Row[Any]]:
    """Events after a position, oldest first; only those in the organisation's audience unless it is None."""
    events = tables.events
    statement = select(events).where(events.c.position > after)
    if organization_id is not None:
        audience = tables.audience
        statement = statement.join(audience, audience.c.position == events.c.position).where(
            audience.c.organization_id == organization_id
        )
    if types:
        statement = statement.where(events.c.type.in_(types))
    result = await connection.execute(statement.order_by(events.c.position).limit(limit))
    return result.all()
