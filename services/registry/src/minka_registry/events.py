"""The registry's domain events: miners joining and leaving cooperatives, seen by that cooperative.

Each is recorded by the service function that makes the change, in its transaction (see ``minka_common.events``).
No personal data goes into an event: a consumer that needs the miner asks the registry with the id.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.events import record_event
from minka_registry.database import event_store

MEMBER_JOINED = "member.joined"
MEMBER_LEFT = "member.left"
EVENT_TYPES = [MEMBER_JOINED, MEMBER_LEFT]


def member_joined(
    session: AsyncSession, membership_id: uuid.UUID, miner_id: uuid.UUID, cooperative_id: uuid.UUID, joined_on: date
) -> None:
    _membership_event(session, MEMBER_JOINED, membership_id, miner_id, cooperative_id, joined_on=joined_on)


def member_left(
    session: AsyncSession, membership_id: uuid.UUID, miner_id: uuid.UUID, cooperative_id: uuid.UUID, left_on: date
) -> None:
    _membership_event(session, MEMBER_LEFT, membership_id, miner_id, cooperative_id, left_on=left_on)


def _membership_event(session: AsyncSession, type: str, membership_id: uuid.UUID, miner_id: uuid.UUID,
                      cooperative_id: uuid.UUID, **day: date) -> None:
    data = {"membership_id": str(membership_id), "miner_id": str(miner_id), "cooperative_id": str(cooperative_id),
            **{name: value.isoformat() for name, value in day.items()}}
    record_event(session, event_store, type, f"miner:{miner_id}", data, audience=[cooperative_id])
