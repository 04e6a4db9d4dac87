"""Which indicators apply, whether each is met, and the tier a group reaches.

Plain functions over plain data, so the rules can be tested with hand-worked
examples. The tier is the highest level L such that every applicable indicator at
L and below is met, with no open major or critical finding on it. A base standard's
claim rule may relax this per performance area; a bolt-on is always held to it
strictly, and applies only where its ``applies_if`` holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from minka_certification.standards.document import (
    LEVELS,
    ClaimRule,
    Level,
    Scope,
    StandardDocument,
    StandardRef,
)


class Outcome(StrEnum):
    met = "met"
    not_met = "not_met"
    not_applicable = "not_applicable"


class Status(StrEnum):
    met = "met"
    not_met = "not_met"
    unassessed = "unassessed"
    not_applicable = "not_applicable"


@dataclass(frozen=True)
class IndicatorRule:
    code: str
    standard: StandardRef
    principle: str
    level: Level
    scope: Scope
    text: str
    forest_distance_km_lte: float | None = None
    due_year: int | None = None
    guidance: str | None = None


@dataclass(frozen=True)
class Scheme:
    """What one certification is assessed against: a base standard plus its bolt-ons."""

    base: StandardRef
    indicators: tuple[IndicatorRule, ...]
    claim_rule: ClaimRule | None = None
    bolt_ons: tuple[StandardRef, ...] = ()
    claims: Mapping[StandardRef, tuple[str, ...]] = field(default_factory=dict)
    equivalents: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """indicator code → codes of comparable indicators whose results count for it"""

    def indicator(self, code: str) -> IndicatorRule | None:
        return next((rule for rule in self.indicators if rule.code == code), None)

    @property
    def standards(self) -> tuple[StandardRef, ...]:
        return (self.base, *self.bolt_ons)


def scheme_of(base: StandardDocument, bolt_ons: Sequence[StandardDocument] = ()) -> Scheme:
    rules = [_rule(document, principle.code, indicator) for document in (base, *bolt_ons)
             for principle, indicator in document.indicators()]
    codes = {rule.code for rule in rules}
    equivalents: dict[str, set[str]] = {}
    for document in (base, *bolt_ons):
        for equivalence in document.equivalences:
            if equivalence.indicator in codes and equivalence.equivalent in codes:
                equivalents.setdefault(equivalence.indicator, set()).add(equivalence.equivalent)
                equivalents.setdefault(equivalence.equivalent, set()).add(equivalence.indicator)
    return Scheme(
        base=base.ref,
        indicators=tuple(rules),
        claim_rule=base.claim_rule,
        bolt_ons=tuple(document.ref for document in bolt_ons),
        claims={document.ref: tuple(document.claims) for document in (base, *bolt_ons)},
        equivalents={code: frozenset(others) for code, others in equivalents.items()},
    )


def _rule(document: StandardDocument, principle: str, indicator) -> IndicatorRule:
    condition = indicator.applies_if or {}
    return IndicatorRule(
        code=indicator.code,
        standard=document.ref,
        principle=principle,
        level=indicator.level,
        scope=indicator.scope,
        text=indicator.text,
        forest_distance_km_lte=condition.get("forest_distance_km_lte"),
        due_year=indicator.due_year,
        guidance=indicator.guidance,
    )


# ------------------------------------------------------------------ applicability


@dataclass(frozen=True)
class GroupContext:
    """What the registry says about the group: its sites' forest distances and where members work."""

    site_forest_km: Mapping[uuid.UUID, float | None] = field(default_factory=dict)
    member_sites: Mapping[uuid.UUID, uuid.UUID | None] = field(default_factory=dict)

    def nearest_forest_km(self) -> float | None:
        known = [km for km in self.site_forest_km.values() if km is not None]
        return min(known) if known else None

    def member_forest_km(self, member_id: uuid.UUID) -> float | None:
        """Distance at the member's site; a member without a known site is held to the group's nearest site."""
        site = self.member_sites.get(member_id)
        if site is None or site not in self.site_forest_km:
            return self.nearest_forest_km()
        return self.site_forest_km[site]


def _within(threshold: float | None, distance_km: float | None) -> bool:
    if threshold is None:
        return True
    return distance_km is not None and distance_km <= threshold


def applies_to(rule: IndicatorRule, context: GroupContext, *, member_id=None, site_id=None) -> bool:
    """Whether the indicator applies to one subject (a member, a site, or the group when neither is given)."""
    if site_id is not None:
        return _within(rule.forest_distance_km_lte, context.site_forest_km.get(site_id))
    if member_id is not None:
        return _within(rule.forest_distance_km_lte, context.member_forest_km(member_id))
    return _within(rule.forest_distance_km_lte, context.nearest_forest_km())


def applies_to_group(rule: IndicatorRule, context: GroupContext) -> bool:
    """An indicator applies to the group when it applies to at least one of the group's subjects."""
    if rule.forest_distance_km_lte is None:
        return True
    if rule.scope == Scope.site:
        return any(applies_to(rule, context, site_id=site) for site in context.site_forest_km)
    if rule.scope == Scope.member and context.member_sites:
        return any(applies_to(rule, context, member_id=member) for member in context.member_sites)
    return applies_to(rule, context)


# ------------------------------------------------------------------ indicator status


@dataclass(frozen=True)
class Result:
    indicator: str
    outcome: Outcome
    member_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None


def indicator_statuses(scheme: Scheme, results: Iterable[Result], context: GroupContext) -> dict[str, Status]:
    """Status of every indicator of the scheme; a result for a comparable indicator counts as its own."""
    by_indicator: dict[str, list[Result]] = {}
    for result in results:
        by_indicator.setdefault(result.indicator, []).append(result)
    statuses = {}
    for rule in scheme.indicators:
        own = by_indicator.get(rule.code, [])
        borrowed = [r for code in scheme.equivalents.get(rule.code, ()) for r in by_indicator.get(code, [])]
        statuses[rule.code] = indicator_status(rule, own or borrowed, context)
    return statuses


def indicator_status(rule: IndicatorRule, results: Sequence[Result], context: GroupContext) -> Status:
    if not applies_to_group(rule, context):
        return Status.not_applicable
    relevant = [r for r in results if applies_to(rule, context, member_id=r.member_id, site_id=r.site_id)]
    judged = [r for r in relevant if r.outcome != Outcome.not_applicable]
    if any(r.outcome == Outcome.not_met for r in judged):
        return Status.not_met
    if judged:
        return Status.met
    return Status.not_applicable if relevant else Status.unassessed


# ------------------------------------------------------------------ tiers


def level_reached(
    rules: Iterable[IndicatorRule], statuses: Mapping[str, Status], excused: frozenset[str] = frozenset(),
    blocked: frozenset[str] = frozenset(),
) -> Level | None:
    """Highest level whose applicable indicators, and those of every lower level, are all met.

    ``excused``: progress requirements not yet due (they do not hold a level back);
    ``blocked``: indicators with an open major or critical finding (they do).
    A level with no applicable indicator cannot be reached on its own: nothing was shown.
    """
    reached = None
    rules = list(rules)
    for level in LEVELS:
        counted = [r for r in rules if r.level == level and statuses[r.code] != Status.not_applicable
                   and r.code not in excused]
        if any(statuses[r.code] != Status.met or r.code in blocked for r in counted):
            break
        if counted:
            reached = level
    return reached


def level_allowed(
    rules: Iterable[IndicatorRule], statuses: Mapping[str, Status], excused: frozenset[str] = frozenset(),
    blocked: frozenset[str] = frozenset(),
) -> Level | None:
    """The highest level a bolt-on lets the group keep: the level below its lowest level with an applicable
    indicator not met (or blocked); the top level when none fails. Levels where the bolt-on has no indicator
    do not hold the group back: the base standard's indicators decide them."""
    rules = list(rules)
    for level in LEVELS:
        if any(r.level == level and statuses[r.code] != Status.not_applicable and r.code not in excused
               and (statuses[r.code] != Status.met or r.code in blocked) for r in rules):
            return LEVELS[level.rank - 1] if level.rank else None
    return LEVELS[-1]


def applicable_principles(rules: Iterable[IndicatorRule], statuses: Mapping[str, Status]) -> dict[str, list[IndicatorRule]]:
    principles: dict[str, list[IndicatorRule]] = {}
    for rule in rules:
        principles.setdefault(rule.principle, []).append(rule)
    return {code: members for code, members in principles.items()
            if any(statuses[r.code] != Status.not_applicable for r in members)}


def claim_rule_level(rule: ClaimRule, principle_levels: Mapping[str, Level | None]) -> Level | None:
    """``rule.level`` when enough performance areas reach it and all the others reach the floor, else None."""
    if not principle_levels:
        return None
    levels = list(principle_levels.values())
    reaching = sum(1 for level in levels if level is not None and level.rank >= rule.level.rank)
    all_at_floor = all(level is not None and level.rank >= rule.floor.rank for level in levels)
    return rule.level if all_at_floor and reaching / len(levels) >= rule.min_share else None


@dataclass(frozen=True)
class TierOutcome:
    tier: Level | None
    principle_levels: dict[str, Level | None]
    applied_bolt_ons: tuple[StandardRef, ...]
    claims: tuple[str, ...]


def compute_tier(
    scheme: Scheme, statuses: Mapping[str, Status], excused: frozenset[str] = frozenset(),
    blocked: frozenset[str] = frozenset(),
) -> TierOutcome:
    base_rules = [r for r in scheme.indicators if r.standard == scheme.base]
    principle_levels = {
        code: level_reached(rules, statuses, excused, blocked)
        for code, rules in applicable_principles(base_rules, statuses).items()
    }
    tier = level_reached(base_rules, statuses, excused, blocked)
    if scheme.claim_rule is not None:
        tier = _higher(tier, claim_rule_level(scheme.claim_rule, principle_levels))
    applied = []
    for bolt_on in scheme.bolt_ons:
        rules = [r for r in scheme.indicators if r.standard == bolt_on]
        if not any(statuses[r.code] != Status.not_applicable for r in rules):
            continue
        applied.append(bolt_on)
        principle_levels.update({code: level_reached(members, statuses, excused, blocked)
                                 for code, members in applicable_principles(rules, statuses).items()})
        tier = _lower(tier, level_allowed(rules, statuses, excused, blocked))
    claims = tuple(claim for ref in (scheme.base, *applied) for claim in scheme.claims.get(ref, ())) if tier else ()
    return TierOutcome(tier=tier, principle_levels=principle_levels, applied_bolt_ons=tuple(applied), claims=claims)


def _higher(a: Level | None, b: Level | None) -> Level | None:
    if a is None or b is None:
        return a or b
    return max(a, b, key=lambda level: level.rank)


def _lower(a: Level | None, b: Level | None) -> Level | None:
    if a is None or b is None:
        return None
    return min(a, b, key=lambda level: level.rank)
