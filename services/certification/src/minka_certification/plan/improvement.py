"""The improvement plan: progress computed from the latest audit, and what to do to reach the next tier."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date

from pydantic import BaseModel

from minka_certification.certifications.lifecycle import TIER_BLOCKING, add_years
from minka_certification.findings.models import Finding
from minka_certification.standards.document import LEVELS, Level, Scope, StandardRef
from minka_certification.tiers import Scheme, Status

OWNERS = {
    Scope.group: "cooperative management",
    Scope.member: "each member, followed up by the internal control system",
    Scope.site: "the site's manager",
}


class LevelProgress(BaseModel):
    met: int
    total: int


class PlanAction(BaseModel):
    indicator: str
    standard: StandardRef
    principle: str
    level: Level
    text: str
    status: str
    action: str
    owner: str
    due_on: date | None
    finding_id: uuid.UUID | None


class ImprovementPlan(BaseModel):
    current_tier: Level | None
    next_tier: Level | None
    progress: dict[Level, LevelProgress]
    actions: list[PlanAction]
    based_on_audit: uuid.UUID | None


def next_level(current: Level | None) -> Level | None:
    if current is None:
        return LEVELS[0]
    return LEVELS[current.rank + 1] if current.rank + 1 < len(LEVELS) else None


def improvement_plan(
    scheme: Scheme,
    statuses: Mapping[str, Status],
    open_findings: list[Finding],
    current_tier: Level | None,
    first_certified_on: date | None,
    today: date,
    audit_id: uuid.UUID | None = None,
) -> ImprovementPlan:
    finding_on = {f.indicator: f for f in open_findings}
    blocked = {f.indicator for f in open_findings if f.severity in TIER_BLOCKING}
    applicable = [r for r in scheme.indicators if statuses.get(r.code, Status.unassessed) != Status.not_applicable]

    def is_met(code: str) -> bool:
        return statuses.get(code) == Status.met and code not in blocked

    progress = {
        level: LevelProgress(met=sum(1 for r in applicable if r.level == level and is_met(r.code)),
                             total=sum(1 for r in applicable if r.level == level))
        for level in LEVELS
    }
    target = next_level(current_tier)
    actions = []
    for rule in applicable:
        if target is None or rule.level.rank > target.rank or is_met(rule.code):
            continue
        finding = finding_on.get(rule.code)
        due_on = finding.due_on if finding else (
            add_years(first_certified_on or today, rule.due_year) if rule.due_year else None)
        actions.append(PlanAction(
            indicator=rule.code, standard=rule.standard, principle=rule.principle, level=rule.level, text=rule.text,
            status="open finding" if finding else statuses.get(rule.code, Status.unassessed).value,
            action=rule.guidance or f"Meet the indicator: {rule.text}", owner=OWNERS[rule.scope], due_on=due_on,
            finding_id=finding.id if finding else None,
        ))
    actions.sort(key=lambda a: (a.level.rank, a.due_on or date.max, a.indicator))
    return ImprovementPlan(current_tier=current_tier, next_tier=target, progress=progress, actions=actions,
                           based_on_audit=audit_id)
