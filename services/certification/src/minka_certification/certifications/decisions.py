"""Opening a certification and the certification body's decisions: certify, suspend, reinstate, withdraw."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_certification.audits.models import Audit
from minka_certification.certifications.lifecycle import (
    CertificationStatus,
    Decision,
    OpenFinding,
    Severity,
    certificate_validity,
    decision_target,
    suspending_findings,
)
from minka_certification.certifications.models import Certificate, Certification, CertificationEvent
from minka_certification.certifications.schemas import CertificationCreate
from minka_certification.certifications.service import (
    apply_time_rules,
    change_status,
    current_certificate,
    open_findings,
)
from minka_certification.standards.document import StandardKind
from minka_certification.standards.service import find_document
from minka_common.auth import Principal, Role
from minka_common.db import flush_or_conflict
from minka_common.errors import Conflict, Forbidden, Unprocessable
from minka_common.registry_client import RegistryClient

S = CertificationStatus


async def _standards_problems(session: AsyncSession, body: CertificationCreate) -> list[tuple[str, str]]:
    problems = []
    base = await find_document(session, body.standard)
    if base is None:
        problems.append(("standard", f"standard {body.standard} is not in the catalogue"))
    elif base.kind != StandardKind.base:
        problems.append(("standard", f"{body.standard} is a bolt-on; name its base standard here"))
    if len(set(body.bolt_ons)) != len(body.bolt_ons):
        problems.append(("bolt_ons", "a bolt-on is named twice"))
    for index, ref in enumerate(body.bolt_ons):
        bolt_on = await find_document(session, ref)
        if bolt_on is None:
            problems.append((f"bolt_ons[{index}]", f"standard {ref} is not in the catalogue"))
        elif bolt_on.kind != StandardKind.bolt_on:
            problems.append((f"bolt_ons[{index}]", f"{ref} is not a bolt-on"))
        elif bolt_on.base != body.standard:
            problems.append((f"bolt_ons[{index}]", f"{ref} attaches to {bolt_on.base}, not to {body.standard}"))
    return problems


async def _organization_problems(registry: RegistryClient, body: CertificationCreate) -> list[tuple[str, str]]:
    problems = []
    for field, organization_id, kind in (
        ("cooperative_id", body.cooperative_id, "cooperative"),
        ("certification_body_id", body.certification_body_id, "certification_body"),
    ):
        organization = await registry.organization(organization_id)
        if organization is None or organization.kind != kind:
            problems.append((field, f"no {kind.replace('_', ' ')} with this id in the registry"))
    return problems


async def open_certification(
    session: AsyncSession, registry: RegistryClient, body: CertificationCreate, principal: Principal, now: datetime
) -> Certification:
    if principal.role == Role.certifier and principal.organization_id != body.certification_body_id:
        raise Forbidden("a certifier opens certifications for its own certification body only")
    problems = await _standards_problems(session, body) + await _organization_problems(registry, body)
    if problems:
        raise Unprocessable("the certification cannot be opened", errors=problems)
    certification = Certification(
        cooperative_id=body.cooperative_id, certification_body_id=body.certification_body_id,
        standard_code=body.standard.code, standard_version=body.standard.version,
        bolt_ons=[ref.model_dump() for ref in body.bolt_ons], status=S.applied.value, status_since=now,
        risk_factor=body.risk_factor, created_at=now, updated_at=now,
    )
    session.add(certification)
    session.add(CertificationEvent(certification_id=certification.id, to_status=S.applied.value,
                                   actor=principal.subject, reason="application", at=now))
    await flush_or_conflict(session, f"the cooperative already has a running certification against {body.standard.code}")
    return certification


async def latest_audit(session: AsyncSession, certification_id) -> Audit | None:
    statement = select(Audit).where(Audit.certification_id == certification_id).order_by(col(Audit.id).desc())
    return (await session.exec(statement)).first()


async def decide(
    session: AsyncSession, registry: RegistryClient, certification: Certification, decision: Decision,
    reason: str | None, actor: str, now: datetime, certificate_prefix: str,
) -> Certification:
    await apply_time_rules(session, certification, now)
    target = decision_target(decision, CertificationStatus(certification.status))
    if decision == Decision.certify:
        await _certify(session, registry, certification, reason, actor, now, certificate_prefix)
    else:
        if decision == Decision.reinstate:
            await _ensure_nothing_suspends(session, certification, now, decision)
        await change_status(session, certification, target, at=now, actor=actor, reason=reason)
    await session.flush()
    return certification


async def _ensure_nothing_suspends(
    session: AsyncSession, certification: Certification, now: datetime, decision: Decision
) -> None:
    """A certificate would be suspended again at once while a critical or an overdue major finding is open."""
    findings = [OpenFinding(f.indicator, Severity(f.severity), f.opened_at, f.due_on)
                for f in await open_findings(session, certification.id)]
    suspending = suspending_findings(findings, now)
    if suspending:
        indicators = ", ".join(sorted({finding.indicator for _, finding in suspending}))
        raise Conflict(f"cannot {decision.value} while critical or overdue major findings are open "
                       f"(indicators {indicators})")


async def _audit_to_certify_on(session: AsyncSession, certification: Certification) -> Audit:
    audit = await latest_audit(session, certification.id)
    if audit is None or audit.closed_at is None:
        raise Conflict("certify needs a closed audit; close the audit first")
    if certification.status == S.certified:
        certificate = await current_certificate(session, certification)
        renewal = audit.kind == "recertification" and certificate is not None and audit.closed_at > certificate.issued_at
        if not renewal:
            raise Conflict("already certified; a new certificate needs a closed recertification audit")
    if audit.tier is None:
        raise Conflict("the latest audit did not reach the foundational level; there is no tier to certify")
    return audit


async def _certify(
    session: AsyncSession, registry: RegistryClient, certification: Certification, reason: str | None, actor: str,
    now: datetime, certificate_prefix: str,
) -> None:
    audit = await _audit_to_certify_on(session, certification)
    await _ensure_nothing_suspends(session, certification, now, Decision.certify)
    cooperative = await registry.organization(certification.cooperative_id)
    sites = await registry.sites_of(certification.cooperative_id)
    valid_from, valid_to = certificate_validity(now.date())
    certificate = Certificate(
        number=new_certificate_number(certificate_prefix, now),
        certification_id=certification.id,
        cooperative_id=certification.cooperative_id,
        cooperative_name=cooperative.name if cooperative else "",
        tier=audit.tier,
        standards=audit.applied_standards or [],
        claims=audit.claims or [],
        scope={
            "members": len(audit.population),
            "sites": sorted(str(site.id) for site in sites if site.status == "active"),
            "minerals": sorted({mineral for site in sites for mineral in site.minerals}),
        },
        valid_from=valid_from,
        valid_to=valid_to,
        issued_at=now,
    )
    session.add(certificate)
    await change_status(
        session, certification, S.certified, at=now, actor=actor,
        reason=reason or f"certified at {audit.tier} on audit {audit.id}",
        tier=audit.tier, forest_smart="forest_smart" in (audit.claims or []), certificate_id=certificate.id,
        first_certified_on=certification.first_certified_on or now.date(),
    )


def new_certificate_number(prefix: str, now: datetime) -> str:
    return f"{prefix}-{now.year}-{secrets.token_hex(4).upper()}"


def public_certificate_status(certificate: Certificate, certification: Certification) -> str:
    if certification.certificate_id != certificate.id:
        return "superseded"
    return {S.certified: "valid"}.get(CertificationStatus(certification.status), certification.status)

