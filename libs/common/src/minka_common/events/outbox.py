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
from sqlalchemy.orm import Session
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
    if not session.in_transaction():
        raise RuntimeError(f"event {type} recorded outside a transaction")
    pending = PendingEvent(
        tables, type, subject, data, frozenset(str(org) for org in audience if org is not None), occurred_at or utcnow()
    )
    session.info.setdefault(_PENDING, []).append(pending)
    return pending


@event.listens_for(Session, "before_commit")
def _write_pending_events(session: Session) -> None:
    pending: list[PendingEvent] = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.flush()
    locked: set[str] = set()
    for item in pending:
        events = item.tables.events
        if session.get_bind().dialect.name == "postgresql" and events.name not in locked:
            session.execute(text(f"LOCK TABLE {events.name} IN EXCLUSIVE MODE"))
            locked.add(events.name)
        position = session.execute(
            insert(events).values(id=str(item.id), type=item.type, subject=item.subject,
                                  occurred_at=item.occurred_at, data=item.data).returning(events.c.position)
        ).scalar_one()
        if item.audience:
            session.execute(insert(item.tables.audience),
                            [{"organization_id": org, "position": position} for org in sorted(item.audience)])


@event.listens_for(Session, "after_rollback")
def _forget_pending_events(session: Session) -> None:
    session.info.pop(_PENDING, None)


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
