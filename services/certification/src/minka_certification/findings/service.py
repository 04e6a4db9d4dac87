from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_certification.certifications.lifecycle import (
    CertificationStatus,
    add_years,
    default_due_on,
    ensure_not_ended,
)
from minka_certification.certifications.models import Certification
from minka_certification.findings.models import Finding
from minka_certification.findings.schemas import FindingCreate
from minka_certification.tiers import Scheme
from minka_common.errors import Conflict, NotFound, Unprocessable

MAX_DEADLINE_YEARS = 10
"""A corrective action due further away is no deadline at all (and date.max would overflow the day after it)."""


def finding_problems(scheme: Scheme, body: FindingCreate, now: datetime) -> list[tuple[str, str]]:
    problems = []
    if scheme.indicator(body.indicator) is None:
        problems.append(("indicator", "not an indicator of this certification's standards"))
    if body.due_on is not None and body.due_on < now.date():
        problems.append(("due_on", "the deadline is in the past"))
    if body.due_on is not None and body.due_on > add_years(now.date(), MAX_DEADLINE_YEARS):
        problems.append(("due_on", f"the deadline is more than {MAX_DEADLINE_YEARS} years away"))
    return problems


def new_finding(
    certification: Certification, body: FindingCreate, actor: str, now: datetime, audit_id: uuid.UUID | None = None
) -> Finding:
    return Finding(
        certification_id=certification.id,
        audit_id=audit_id,
        indicator=body.indicator,
        severity=body.severity.value,
        member_id=body.member_id,
        site_id=body.site_id,
        description=body.description,
        opened_at=now,
        due_on=body.due_on or default_due_on(body.severity, now.date()),
        opened_by=actor,
    )


def raise_finding(
    session: AsyncSession, scheme: Scheme, certification: Certification, body: FindingCreate, actor: str, now: datetime
) -> Finding:
    ensure_not_ended(CertificationStatus(certification.status), "findings are raised on it")
    problems = finding_problems(scheme, body, now)
    if problems:
        raise Unprocessable("the finding cannot be raised", errors=problems)
    finding = new_finding(certification, body, actor, now)
    session.add(finding)
    return finding


async def close_finding(
    session: AsyncSession, certification: Certification, finding_id: uuid.UUID, note: str | None, actor: str,
    now: datetime,
) -> Finding:
    finding = await session.get(Finding, finding_id)
    if finding is None or finding.certification_id != certification.id:
        raise NotFound("finding not found")
    closing = await session.exec(  # type: ignore[call-overload]
        update(Finding)
        .where(col(Finding.id) == finding.id, col(Finding.closed_at).is_(None))
        .values(closed_at=now, closed_by=actor, close_note=note)
        .execution_options(synchronize_session=False)
    )
    if closing.rowcount != 1:
        raise Conflict("the finding is already closed")
    finding.closed_at, finding.closed_by, finding.close_note = now, actor, note
    return finding

