"""Alerts to the holders of lots whose origin lost its certificate.

Traceability follows certification's event feed. For each ``certificate.suspended`` or
``certificate.withdrawn`` it records one ``lot.origin_certificate_suspended`` event per lot that is
still in play (active or in transit) and has an origin lot of that cooperative upstream; the
custodian, and the named receiver of a lot in transit, are its audience (webhooks deliver it).

Exactly once per certification event: the alerts and the move of the ``certification-feed`` cursor
past that event commit in one transaction, and the move is conditional on the cursor still being
where this round read it. A crash loses nothing (the next round starts from the same cursor) and a
second replica that handled the event first makes this one stop instead of alerting twice.

A change effective in the past (a suspension applied late by certification's time rules) may also
void claims of lots produced since: the cooperative's origin lots produced on or after the change
are rechecked at once (the claim recheck's red flags), after the alerts are committed. That part is
not exactly-once and need not be: the recheck skips flagged lots, and the periodic one backs it up.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.certification_client import CertificationClient, CertificationEvent
from minka_common.db import Database
from minka_common.events import record_event
from minka_common.ids import utcnow
from minka_traceability.database import event_store
from minka_traceability.events import LOT_ORIGIN_CERTIFICATE_SUSPENDED
from minka_traceability.graph import Direction, walk
from minka_traceability.lots.models import Lot, LotStatus
from minka_traceability.red_flags.service import recheck_claims
from minka_traceability.transfers.models import Transfer, TransferStatus

FEED_CURSOR = "certification-feed"
# The certificate's status each followed event type announces.
FOLLOWED = {"certificate.suspended": "suspended", "certificate.withdrawn": "withdrawn"}
PAGE_SIZE = 100
IN_PLAY = (LotStatus.active.value, LotStatus.in_transit.value)

logger = logging.getLogger("minka.traceability.origin_alerts")
cursors = event_store.cursors


class CertificateChange(BaseModel):
    """The part of a certification event's data that an alert needs."""

    model_config = ConfigDict(extra="ignore")

    certification_id: uuid.UUID
    cooperative_id: uuid.UUID
    certificate_number: str | None = None
    effective_on: date | None = None


@dataclass(frozen=True)
class AffectedLot:
    lot_id: uuid.UUID
    code: str
    custodian_id: uuid.UUID
    receiver_id: uuid.UUID | None  # the named receiver while the lot is in transit


@dataclass(frozen=True)
class Handled:
    alerts: int
    change: CertificateChange | None


@dataclass
class FeedProgress:
    """What one round did: certification events handled, alerts recorded, red flags raised by the recheck."""

    certification_events: int = 0
    alerts: int = 0
    red_flags: int = 0


def affected_lots_query(cooperative_id: uuid.UUID) -> Any:
    """Lots in play that have an origin lot of the cooperative upstream (the origin lots themselves included),
    with the receiver of those in transit: one recursive walk downstream from the cooperative's origin lots."""
    origins = select(col(Lot.id).label("lot_id")).where(col(Lot.cooperative_id) == cooperative_id)
    reached = walk(origins, Direction.downstream, "from_origin")
    in_transit = and_(col(Transfer.lot_id) == col(Lot.id), col(Transfer.status) == TransferStatus.in_transit.value)
    return (
        select(col(Lot.id), col(Lot.code), col(Lot.custodian_id), col(Transfer.to_organization_id))
        .join(reached, reached.c.lot_id == col(Lot.id))
        .outerjoin(Transfer, in_transit)
        .where(col(Lot.status).in_(IN_PLAY))
        .order_by(col(Lot.id))
    )


async def affected_lots(session: AsyncSession, cooperative_id: uuid.UUID) -> list[AffectedLot]:
    rows = (await session.exec(affected_lots_query(cooperative_id))).all()  # type: ignore[call-overload]
    return [AffectedLot(*row) for row in rows]


def record_alert(session: AsyncSession, lot: AffectedLot, change: CertificateChange, status: str,
                 event: CertificationEvent) -> None:
    data = {
        "lot_id": str(lot.lot_id),
        "code": lot.code,
        "custodian_id": str(lot.custodian_id),
        "receiver_id": str(lot.receiver_id) if lot.receiver_id else None,
        "cooperative_id": str(change.cooperative_id),
        "certification_id": str(change.certification_id),
        "certificate_number": change.certificate_number,
        "status": status,
        "effective_on": change.effective_on.isoformat() if change.effective_on else None,
        "certification_event_id": event.id,
    }
    record_event(session, event_store, LOT_ORIGIN_CERTIFICATE_SUSPENDED, f"lot:{lot.lot_id}", data,
                 audience=[lot.custodian_id, lot.receiver_id])


async def stored_position(database: Database) -> int:
    """Where the feed was left; the cursor starts at the beginning of certification's feed the first time."""
    async with database.engine.connect() as connection:
        found = (await connection.execute(select(cursors.c.position).where(cursors.c.name == FEED_CURSOR))).first()
    if found is not None:
        return found.position
    try:
        async with database.engine.begin() as connection:
            await connection.execute(insert(cursors).values(name=FEED_CURSOR, position=0, updated_at=utcnow()))
    except IntegrityError:  # another replica created it in the meantime
        return await stored_position(database)
    return 0


async def _advance(session: AsyncSession, previous: int, to: int) -> bool:
    """Moves the cursor past an event if it is still where this round left it; False if another round did."""
    result = await session.exec(  # type: ignore[call-overload]
        update(cursors)
        .where(cursors.c.name == FEED_CURSOR, cursors.c.position == previous)
        .values(position=to, updated_at=utcnow())
    )
    return result.rowcount == 1


def _change_of(event: CertificationEvent) -> CertificateChange | None:
    try:
        return CertificateChange.model_validate(event.data)
    except ValidationError:
        # A malformed event must not stop the feed for every later one: it is logged and passed.
        logger.error("certification event %s (%s) has no usable data; no alerts for it", event.id, event.type)
        return None


async def handle(database: Database, event: CertificationEvent, previous: int) -> Handled | None:
    """Records the alerts of one certification event and moves the cursor past it, in one transaction;
    None when another round had already handled the event."""
    async with database.session() as session:
        if not await _advance(session, previous, int(event.cursor)):
            await session.rollback()
            return None
        change, status = _change_of(event), FOLLOWED.get(event.type)
        lots = await affected_lots(session, change.cooperative_id) if change and status else []
        for lot in lots:
            record_alert(session, lot, change, status, event)  # type: ignore[arg-type]
        await session.commit()
    return Handled(len(lots), change if status else None)


async def recheck_since(
    database: Database, certification: CertificationClient, change: CertificateChange, today: date
) -> int:
    """Rechecks the claims of the cooperative's origin lots produced since the change took effect."""
    if change.effective_on is None or change.effective_on > today:
        return 0
    async with database.transaction() as session:
        raised = await recheck_claims(session, certification, today, (today - change.effective_on).days,
                                      cooperative_id=change.cooperative_id)
    return len(raised)


async def follow_certification_feed(
    database: Database, certification: CertificationClient, today: date, page_size: int = PAGE_SIZE
) -> FeedProgress:
    """One round: every followed certification event after the cursor, oldest first. Certification being
    down raises ``ServiceUnavailable`` and leaves the cursor after the last event whose alerts are committed."""
    progress = FeedProgress()
    position = await stored_position(database)
    while True:
        page = await certification.events(after=str(position), types=tuple(FOLLOWED), limit=page_size)
        for event in page.items:
            handled = await handle(database, event, position)
            if handled is None:
                logger.info("certification event %s was handled by another round; this one stops", event.id)
                return progress
            progress.certification_events += 1
            progress.alerts += handled.alerts
            position = int(event.cursor)
            if handled.change is not None:
                progress.red_flags += await recheck_since(database, certification, handled.change, today)
        if not page.has_more:
            return progress
