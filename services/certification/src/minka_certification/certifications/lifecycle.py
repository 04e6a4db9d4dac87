"""The certification lifecycle as plain rules: which transitions are legal, and which happen by the clock.

applied → audit_scheduled → certified ⇄ suspended → withdrawn | expired. Time-based
transitions are computed from facts (findings, dates) with the moment they took effect,
so applying them late, on read or by a periodic task, records the same history.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from minka_common.errors import Conflict

SUSPENSION_LIMIT_MONTHS = 6
CERTIFICATE_YEARS = 3


class CertificationStatus(StrEnum):
    applied = "applied"
    audit_scheduled = "audit_scheduled"
    certified = "certified"
    suspended = "suspended"
    withdrawn = "withdrawn"
    expired = "expired"


class Decision(StrEnum):
    certify = "certify"
    suspend = "suspend"
    reinstate = "reinstate"
    withdraw = "withdraw"


S = CertificationStatus
DECISIONS: dict[Decision, tuple[frozenset[CertificationStatus], CertificationStatus]] = {
    # decision: (statuses it may be taken from, status it leads to); certify from certified renews the certificate
    Decision.certify: (frozenset({S.audit_scheduled, S.certified}), S.certified),
    Decision.suspend: (frozenset({S.certified}), S.suspended),
    Decision.reinstate: (frozenset({S.suspended}), S.certified),
    Decision.withdraw: (frozenset({S.applied, S.audit_scheduled, S.certified, S.suspended}), S.withdrawn),
}
ACTIVE = frozenset({S.certified, S.suspended})
ENDED = frozenset({S.withdrawn, S.expired})


def ensure_not_ended(status: CertificationStatus, what: str) -> None:
    if status in ENDED:
        raise Conflict(f"the certification is {status.value}; {what} no longer")


def decision_target(decision: Decision, current: CertificationStatus) -> CertificationStatus:
    sources, target = DECISIONS[decision]
    if current not in sources:
        allowed = ", ".join(sorted(s.value for s in sources))
        raise Conflict(f"cannot {decision.value} a certification that is {current.value} (only from: {allowed})")
    return target


class Severity(StrEnum):
    minor = "minor"
    major = "major"
    critical = "critical"


TIER_BLOCKING = frozenset({Severity.major, Severity.critical})
"""An open finding of these severities keeps its indicator from counting as met."""


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def default_due_on(severity: Severity, opened_on: date) -> date:
    """Corrective-action deadline: minor 12 months, major 90 days, critical immediately."""
    if severity == Severity.minor:
        return add_months(opened_on, 12)
    if severity == Severity.major:
        return opened_on + timedelta(days=90)
    return opened_on


def certificate_validity(issued_on: date) -> tuple[date, date]:
    return issued_on, add_years(issued_on, CERTIFICATE_YEARS) - timedelta(days=1)


def surveillance_dates(valid_from: date) -> list[date]:
    return [add_years(valid_from, year) for year in range(1, CERTIFICATE_YEARS)]


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class OpenFinding:
    indicator: str
    severity: Severity
    opened_at: datetime
    due_on: date


@dataclass(frozen=True)
class TimedTransition:
    to: CertificationStatus
    at: datetime
    reason: str


def suspending_findings(findings: Iterable[OpenFinding], now: datetime) -> list[tuple[datetime, OpenFinding]]:
    """Open findings that suspend a certificate, with the moment each started to: a critical one when opened,
    a major one the day after its deadline."""
    suspending = []
    for finding in findings:
        if finding.severity == Severity.critical:
            suspending.append((finding.opened_at, finding))
        elif finding.severity == Severity.major and start_of(finding.due_on + timedelta(days=1)) <= now:
            suspending.append((start_of(finding.due_on + timedelta(days=1)), finding))
    return suspending


def due_transition(
    status: CertificationStatus, since: datetime, valid_to: date | None, findings: Iterable[OpenFinding], now: datetime
) -> TimedTransition | None:
    """The earliest transition the clock has brought about, if any."""
    candidates: list[TimedTransition] = []
    if status in ACTIVE and valid_to is not None:
        candidates.append(TimedTransition(S.expired, start_of(valid_to + timedelta(days=1)),
                                          f"the certificate expired after {valid_to.isoformat()}"))
    if status == S.certified:
        for at, finding in suspending_findings(findings, now):
            why = "critical finding" if finding.severity == Severity.critical else (
                f"major finding overdue since {finding.due_on.isoformat()}")
            candidates.append(TimedTransition(S.suspended, max(at, since), f"{why} on indicator {finding.indicator}"))
    if status == S.suspended:
        limit = datetime.combine(add_months(since.date(), SUSPENSION_LIMIT_MONTHS), since.timetz())
        candidates.append(TimedTransition(S.withdrawn, limit,
                                          f"suspended for more than {SUSPENSION_LIMIT_MONTHS} months"))
    due = [c for c in candidates if c.at <= now]
    return min(due, key=lambda c: c.at) if due else None
