"""Audits: drawing the sample from the registry's members on the audit date, recording results, closing."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, tuple_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_certification.audits.models import Audit, AuditResult
from minka_certification.audits.sampling import Member, draw_sample, high_risk_members, new_seed
from minka_certification.audits.schemas import AuditCreate, AuditKind, ResultIn
from minka_certification.certifications.lifecycle import ACTIVE, CertificationStatus, Severity, add_years
from minka_certification.certifications.models import Certification
from minka_certification.certifications.service import (
    blocking_indicators,
    change_status,
    open_findings,
    scheme_for,
)
from minka_certification.findings.models import Finding
from minka_certification.findings.schemas import FindingCreate
from minka_certification.findings.service import new_finding
from minka_certification.standards.document import Level, Scope
from minka_certification.tiers import (
    GroupContext,
    Result,
    Scheme,
    Status,
    TierOutcome,
    compute_tier,
    indicator_statuses,
)
from minka_common.db import flush_or_conflict
from minka_common.errors import Conflict, NotFound, Unprocessable
from minka_common.registry_client import RegistryClient

S = CertificationStatus
MAX_RESULTS_PER_REQUEST = 5000


async def load_audit(session: AsyncSession, audit_id: uuid.UUID) -> Audit:
    audit = await session.get(Audit, audit_id)
    if audit is None:
        raise NotFound("audit not found")
    return audit


async def previous_audit(session: AsyncSession, certification_id: uuid.UUID) -> Audit | None:
    statement = select(Audit).where(Audit.certification_id == certification_id, col(Audit.closed_at).is_not(None))
    return (await session.exec(statement.order_by(col(Audit.id).desc()))).first()


def _ensure_kind_fits(kind: AuditKind, status: CertificationStatus) -> None:
    if kind == AuditKind.initial and status not in (S.applied, S.audit_scheduled):
        raise Conflict(f"an initial audit is for a certification not yet certified; this one is {status.value}")
    if kind != AuditKind.initial and status not in ACTIVE:
        raise Conflict(f"a {kind.value} audit is for a certified or suspended certification; this one is {status.value}")


async def _population(registry: RegistryClient, certification: Certification, body_on) -> list[Member]:
    members = await registry.members_on(certification.cooperative_id, body_on)
    if members is None:
        raise Conflict("the cooperative is no longer in the registry")
    return [Member(id=m.id, joined_on=m.joined_on, site_id=m.site_id) for m in members]


async def create_audit(
    session: AsyncSession, registry: RegistryClient, certification: Certification, body: AuditCreate, actor: str,
    now: datetime,
) -> Audit:
    _ensure_kind_fits(body.kind, CertificationStatus(certification.status))
    audit_on = body.audit_on or now.date()
    if audit_on > now.date():
        raise Unprocessable(errors=[("audit_on", "the population can only be drawn for today or a past date")])
    members = await _population(registry, certification, audit_on)
    sites = {site.id: site.forest_distance_km for site in await registry.sites_of(certification.cooperative_id)}
    previous = await previous_audit(session, certification.id)
    with_findings = {f.member_id for f in await open_findings(session, certification.id) if f.member_id}
    high_risk = high_risk_members(members, sites, with_findings, previous.audit_on if previous else None)
    seed = body.seed or new_seed()
    population = sorted(member.id for member in members)
    sample = draw_sample(population, high_risk.keys(), certification.risk_factor, seed)
    audit = Audit(
        certification_id=certification.id, kind=body.kind.value, audit_on=audit_on, seed=seed,
        risk_factor=certification.risk_factor, population=[str(m) for m in population],
        high_risk={str(m): [r.value for r in reasons] for m, reasons in high_risk.items()},
        sample=[str(m) for m in sample],
        site_forest_km={str(site): km for site, km in sites.items()},
        member_sites={str(m.id): str(m.site_id) if m.site_id else None for m in members},
        created_by=actor, created_at=now,
    )
    session.add(audit)
    if certification.status == S.applied:
        await change_status(session, certification, S.audit_scheduled, at=now, actor=actor,
                            reason=f"initial audit drawn for {audit_on.isoformat()}")
    await flush_or_conflict(session, "the certification already has an open audit; close it first")
    return audit


async def redraw(registry: RegistryClient, certification: Certification, audit: Audit) -> list[uuid.UUID]:
    """The sample drawn again from the registry's members on the audit date, with the recorded seed."""
    members = await _population(registry, certification, audit.audit_on)
    high_risk = {uuid.UUID(member) for member in audit.high_risk}
    return draw_sample(sorted(m.id for m in members), high_risk, audit.risk_factor, audit.seed)


def subject_of(result: ResultIn) -> str:
    if result.member_id is not None:
        return f"member:{result.member_id}"
    if result.site_id is not None:
        return f"site:{result.site_id}"
    return "group"


def result_problems(scheme: Scheme, audit: Audit, results: list[ResultIn]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    sample, sites = set(audit.sample), set(audit.site_forest_km)
    for index, result in enumerate(results):
        problems += [(f"[{index}].{field}", reason) for field, reason in _one_result_problems(scheme, result, sample, sites)]
        key = (result.indicator, subject_of(result))
        if key in seen:
            problems.append((f"[{index}]", f"a second result for {result.indicator} on the same subject"))
        seen.add(key)
    return problems


def _one_result_problems(scheme: Scheme, result: ResultIn, sample: set[str], sites: set[str]) -> list[tuple[str, str]]:
    rule = scheme.indicator(result.indicator)
    if rule is None:
        return [("indicator", "not an indicator of this certification's standards")]
    problems = []
    if result.severity is not None and result.outcome != "not_met":
        problems.append(("severity", "a severity goes only with a not_met outcome"))
    if rule.scope == Scope.group and (result.member_id or result.site_id):
        problems.append(("indicator", f"{rule.code} is a group indicator: give neither member_id nor site_id"))
    if rule.scope == Scope.member:
        if result.member_id is None or result.site_id is not None:
            problems.append(("member_id", f"{rule.code} is assessed per member: give member_id (and no site_id)"))
        elif str(result.member_id) not in sample:
            problems.append(("member_id", "this member is not in the audit sample"))
    if rule.scope == Scope.site:
        if result.site_id is None or result.member_id is not None:
            problems.append(("site_id", f"{rule.code} is assessed per site: give site_id (and no member_id)"))
        elif str(result.site_id) not in sites:
            problems.append(("site_id", "not a site of this cooperative when the audit was drawn"))
    return problems


async def record_results(
    session: AsyncSession, certification: Certification, audit: Audit, results: list[ResultIn], actor: str,
    now: datetime,
) -> int:
    """All or nothing; a result for the same indicator and subject replaces the earlier one."""
    if audit.closed_at is not None:
        raise Conflict("the audit is closed; its results can no longer change")
    if not results:
        raise Unprocessable(errors=[("body", "give at least one result")])
    if len(results) > MAX_RESULTS_PER_REQUEST:
        raise Unprocessable(errors=[("body", f"at most {MAX_RESULTS_PER_REQUEST} results per request")])
    problems = result_problems(await scheme_for(session, certification), audit, results)
    if problems:
        raise Unprocessable(f"{len(problems)} result(s) cannot be recorded; nothing was recorded", errors=problems)
    keys = [(r.indicator, subject_of(r)) for r in results]
    await session.exec(delete(AuditResult).where(  # type: ignore[call-overload]
        col(AuditResult.audit_id) == audit.id,
        tuple_(col(AuditResult.indicator), col(AuditResult.subject)).in_(keys),
    ))
    session.add_all(
        AuditResult(audit_id=audit.id, indicator=r.indicator, subject=subject_of(r), member_id=r.member_id,
                    site_id=r.site_id, outcome=r.outcome.value, severity=r.severity.value if r.severity else None,
                    note=r.note, recorded_by=actor, recorded_at=now)
        for r in results
    )
    await flush_or_conflict(session, "results for the same indicators were recorded at the same moment; retry")
    return len(results)


async def audit_results(session: AsyncSession, audit_id: uuid.UUID) -> list[AuditResult]:
    statement = select(AuditResult).where(AuditResult.audit_id == audit_id).order_by(AuditResult.id)
    return list((await session.exec(statement)).all())


def audit_context(audit: Audit) -> GroupContext:
    """The registry's facts as recorded when the sample was drawn; sampled members stand for the group."""
    return GroupContext(
        site_forest_km={uuid.UUID(site): km for site, km in audit.site_forest_km.items()},
        member_sites={uuid.UUID(m): uuid.UUID(site) if (site := audit.member_sites.get(m)) else None
                      for m in audit.sample},
    )


def not_yet_due(scheme: Scheme, first_certified_on, on) -> frozenset[str]:
    """Progress requirements whose due year has not come: due_year years after first certification."""
    start = first_certified_on or on
    return frozenset(rule.code for rule in scheme.indicators if rule.due_year and add_years(start, rule.due_year) > on)


def finding_severity(level: Level, results: list[AuditResult]) -> Severity:
    given = [Severity(r.severity) for r in results if r.outcome == "not_met" and r.severity]
    if given:
        return max(given, key=list(Severity).index)
    return Severity.major if level == Level.foundational else Severity.minor


async def close_audit(
    session: AsyncSession, certification: Certification, audit: Audit, actor: str, now: datetime
) -> tuple[TierOutcome, list[Finding]]:
    if audit.closed_at is not None:
        raise Conflict("the audit is already closed")
    scheme = await scheme_for(session, certification)
    rows = await audit_results(session, audit.id)
    results = [Result(r.indicator, r.outcome, r.member_id, r.site_id) for r in rows]
    statuses = indicator_statuses(scheme, results, audit_context(audit))
    findings_before = await open_findings(session, certification.id)
    outcome = compute_tier(scheme, statuses, not_yet_due(scheme, certification.first_certified_on, audit.audit_on),
                           blocking_indicators(findings_before))
    opened = _findings_for_unmet(scheme, certification, audit, statuses, rows, findings_before, actor, now)
    session.add_all(opened)
    audit.closed_at, audit.tier = now, outcome.tier
    audit.statuses = {code: status.value for code, status in statuses.items()}
    audit.principle_levels = {code: level.value if level else None for code, level in outcome.principle_levels.items()}
    audit.applied_standards = [ref.model_dump() for ref in (scheme.base, *outcome.applied_bolt_ons)]
    audit.claims = list(outcome.claims)
    session.add(audit)
    await _carry_tier(session, certification, audit, outcome, actor, now)
    await session.flush()
    return outcome, opened


def _findings_for_unmet(
    scheme: Scheme, certification: Certification, audit: Audit, statuses: dict[str, Status],
    rows: list[AuditResult], already_open: list[Finding], actor: str, now: datetime,
) -> list[Finding]:
    open_on = {finding.indicator for finding in already_open}
    findings = []
    for rule in scheme.indicators:
        if statuses[rule.code] != Status.not_met or rule.code in open_on:
            continue
        unmet = [r for r in rows if r.indicator == rule.code and r.outcome == "not_met"]
        members = {r.member_id for r in unmet if r.member_id}
        sites = {r.site_id for r in unmet if r.site_id}
        body = FindingCreate(
            indicator=rule.code, severity=finding_severity(rule.level, unmet),
            member_id=next(iter(members)) if len(members) == 1 else None,
            site_id=next(iter(sites)) if len(sites) == 1 else None,
            description=f"not met in the {audit.kind} audit of {audit.audit_on.isoformat()}: {len(unmet)} subject(s)",
        )
        findings.append(new_finding(certification, body, actor, now, audit_id=audit.id))
    return findings


async def _carry_tier(
    session: AsyncSession, certification: Certification, audit: Audit, outcome: TierOutcome, actor: str,
    now: datetime,
) -> None:
    """A closed audit sets the certification's tier; on a certified group a failed audit suspends it."""
    tier = outcome.tier.value if outcome.tier else None
    forest_smart = "forest_smart" in outcome.claims
    status = CertificationStatus(certification.status)
    if status not in ACTIVE:
        certification.tier, certification.forest_smart = tier, forest_smart
        session.add(certification)
        return
    if status == S.certified and tier is None:
        await change_status(session, certification, S.suspended, at=now, actor=actor,
                            reason=f"the {audit.kind} audit did not reach the foundational level",
                            tier=tier, forest_smart=False)
    elif (tier, forest_smart) != (certification.tier, certification.forest_smart):
        await change_status(session, certification, status, at=now, actor=actor,
                            reason=f"tier after the {audit.kind} audit: {tier}", tier=tier, forest_smart=forest_smart)


