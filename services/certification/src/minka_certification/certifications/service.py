"""Certifications: loading with authorisation, status changes with their history, rules applied by the clock."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_certification import events
from minka_certification.access import visible_certifications
from minka_certification.certifications.lifecycle import (
    ACTIVE,
    TIER_BLOCKING,
    CertificationStatus,
    OpenFinding,
    Severity,
    due_transition,
    start_of,
)
from minka_certification.certifications.models import Certificate, Certification, CertificationEvent
from minka_certification.findings.models import Finding
from minka_certification.standards.document import StandardRef
from minka_certification.standards.service import get_document
from minka_certification.tiers import Scheme, scheme_of
from minka_common.auth import Principal
from minka_common.db import one_or_not_found
from minka_common.errors import Conflict

SYSTEM_ACTOR = "system"


async def load_certification(session: AsyncSession, principal: Principal, certification_id: uuid.UUID) -> Certification:
    statement = select(Certification).where(Certification.id == certification_id, visible_certifications(principal))
    return await one_or_not_found(session, statement, "certification")


def standard_refs(certification: Certification) -> list[StandardRef]:
    base = StandardRef(code=certification.standard_code, version=certification.standard_version)
    return [base, *(StandardRef(**ref) for ref in certification.bolt_ons)]


async def scheme_for(session: AsyncSession, certification: Certification) -> Scheme:
    base, *bolt_ons = [await get_document(session, ref) for ref in standard_refs(certification)]
    return scheme_of(base, bolt_ons)


async def open_findings(session: AsyncSession, certification_id: uuid.UUID) -> list[Finding]:
    statement = select(Finding).where(Finding.certification_id == certification_id, col(Finding.closed_at).is_(None))
    return list((await session.exec(statement.order_by(Finding.id))).all())


def blocking_indicators(findings: list[Finding]) -> frozenset[str]:
    """Indicators that cannot count as met while a major or critical finding on them is open."""
    return frozenset(f.indicator for f in findings if f.severity in TIER_BLOCKING)


async def current_certificate(session: AsyncSession, certification: Certification) -> Certificate | None:
    if certification.certificate_id is None:
        return None
    return await session.get(Certificate, certification.certificate_id)


async def change_status(
    session: AsyncSession,
    certification: Certification,
    to: CertificationStatus,
    *,
    at: datetime,
    actor: str,
    reason: str | None,
    **changes: Any,
) -> CertificationEvent:
    """Moves the certification to ``to`` and records the transition; nothing is committed here.

    The update is conditional on the status the caller saw, so of two concurrent changes
    (a decision and a rule applied on read, say) exactly one wins and the other gets 409.
    """
    seen_status, seen_since = certification.status, certification.status_since
    seen_certificate = certification.certificate_id
    values = {"status": to.value, "updated_at": max(at, certification.updated_at), **changes}
    if to != seen_status:
        values["status_since"] = at
    result = await session.exec(  # type: ignore[call-overload]
        update(Certification)
        .where(col(Certification.id) == certification.id, col(Certification.status) == seen_status,
               col(Certification.status_since) == seen_since)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # nothing changed: the caller may read it again and carry on, or give up
        raise Conflict("the certification changed while this request was handled; read it again and retry")
    for name, value in values.items():
        setattr(certification, name, value)
    event = CertificationEvent(
        certification_id=certification.id, from_status=seen_status, to_status=to.value, tier=certification.tier,
        forest_smart=certification.forest_smart, certificate_id=certification.certificate_id, actor=actor,
        reason=reason, at=at,
    )
    session.add(event)
    await _record_certificate_event(session, certification, CertificationStatus(seen_status), to,
                                    certification.certificate_id != seen_certificate, at, reason)
    return event


async def _record_certificate_event(
    session: AsyncSession, certification: Certification, seen: CertificationStatus, to: CertificationStatus,
    new_certificate: bool, at: datetime, reason: str | None,
) -> None:
    event_type = events.certificate_event_type(seen, to, new_certificate)
    certificate = await current_certificate(session, certification) if event_type else None
    if event_type and certificate is not None:
        events.certificate_changed(session, event_type, certification, certificate, at, reason)


async def apply_time_rules(session: AsyncSession, certification: Certification, now: datetime) -> Certification:
    """Applies every transition the clock has brought about (overdue findings, long suspensions, expiry),
    each committed on its own, with the moment it took effect."""
    while CertificationStatus(certification.status) in ACTIVE:
        certificate = await current_certificate(session, certification)
        findings = [OpenFinding(f.indicator, Severity(f.severity), f.opened_at, f.due_on)
                    for f in await open_findings(session, certification.id)]
        transition = due_transition(
            CertificationStatus(certification.status), certification.status_since,
            certificate.valid_to if certificate else None, findings, now,
        )
        if transition is None:
            break
        try:
            await change_status(session, certification, transition.to, at=transition.at, actor=SYSTEM_ACTOR,
                                reason=transition.reason)
        except Conflict:
            await session.refresh(certification)  # another request applied it first; look again
    return certification


async def apply_time_rules_to_all(session: AsyncSession, now: datetime) -> int:
    """The periodic task's work: every active certification brought up to date, each committed on its own;
    returns how many changed."""
    statement = select(Certification).where(col(Certification.status).in_([s.value for s in ACTIVE]))
    changed = 0
    for certification in (await session.exec(statement.order_by(Certification.id))).all():
        before = certification.status
        await apply_time_rules(session, certification, now)
        await session.commit()
        changed += certification.status != before
    return changed


async def history(session: AsyncSession, certification_id: uuid.UUID) -> list[CertificationEvent]:
    statement = select(CertificationEvent).where(CertificationEvent.certification_id == certification_id)
    return list((await session.exec(statement.order_by(CertificationEvent.at, CertificationEvent.id))).all())


def state_on(events: list[CertificationEvent], on: date) -> CertificationEvent | None:
    """The last recorded state in force at the end of the day ``on`` (events sorted by effective time)."""
    end_of_day = start_of(on + timedelta(days=1))
    in_force = [event for event in events if event.at < end_of_day]
    return in_force[-1] if in_force else None
