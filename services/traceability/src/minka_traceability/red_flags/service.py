"""Raising, listing and closing red flags."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.certification_client import CertificationClient, CoverageStatus
from minka_common.ids import utcnow
from minka_common.registry_client import SiteInfo
from minka_traceability import events
from minka_traceability.lots.models import Lot
from minka_traceability.red_flags import rules
from minka_traceability.red_flags.models import RedFlag


def raise_flag(session: AsyncSession, lot: Lot, finding: rules.Finding, also: Iterable[uuid.UUID] = ()) -> RedFlag:
    """Adds the flag to the caller's transaction: it commits with the event that caused it, or not at all.
    Its event is seen by the lot's custodian and cooperative of origin, and by the organisations in ``also``."""
    flag = RedFlag(rule=finding.rule.value, lot_id=lot.id, message=finding.message,
                   details={"lot_code": lot.code, **finding.details}, raised_at=utcnow())
    session.add(flag)
    events.red_flag_raised(session, lot, flag, also)
    return flag


def check_capacity(session: AsyncSession, lot: Lot, site: SiteInfo, month_total_kg: Decimal) -> None:
    produced_on: date = lot.produced_on  # type: ignore[assignment]
    finding = rules.above_capacity(site.capacity_kg_per_month, month_total_kg, produced_on.strftime("%Y-%m"))
    if finding is not None:
        raise_flag(session, lot, finding)




async def recheck_claims(
    session: AsyncSession, certification: CertificationClient, today: date, days: int,
    cooperative_id: uuid.UUID | None = None,
) -> list[RedFlag]:
    """Asks certification again about every certified origin lot produced in the last ``days`` days and not
    flagged yet (of one cooperative, if given). A producer that the recorded history now shows as not covered on
    the day of production (a suspension or sanction recorded late, effective before) raises a flag; the lot's
    claims stay as they were. One question per producer and day, however many lots share it."""
    statement = (
        select(Lot)
        .where(col(Lot.site_id).is_not(None), col(Lot.certificate_number).is_not(None),
               col(Lot.produced_on) >= today - timedelta(days=days), col(Lot.produced_on) <= today,
               col(Lot.id).not_in(select(RedFlag.lot_id).where(RedFlag.rule == rules.Rule.suspended_claim.value)))
        .order_by(Lot.id)
    )
    if cooperative_id is not None:
        statement = statement.where(col(Lot.cooperative_id) == cooperative_id)
    lots = (await session.exec(statement)).all()
    answers: dict[tuple, CoverageStatus] = {}
    raised = []
    for lot in lots:
        key = (lot.cooperative_id, lot.miner_id, lot.produced_on)
        if key not in answers:
            answers[key] = await certification.status(*key)  # type: ignore[arg-type]
        status = answers[key]
        if not status.covered:
            claimed_tier = (lot.coverage or {}).get("tier")
            finding = rules.suspended_claim(lot.certificate_number, claimed_tier, status.reason,
                                            lot.produced_on.isoformat())  # type: ignore[union-attr]
            raised.append(raise_flag(session, lot, finding))
    await session.flush()
    return raised
