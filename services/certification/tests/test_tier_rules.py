"""Applicability, indicator status, tiers, the claim rule and the improvement plan as plain functions.

Every expected tier is worked out by hand in a comment: the tier is the highest level L such that
every applicable indicator at L and below is met with no open major/critical finding on it; a bolt-on
applies only where its ``applies_if`` holds (here: forest within 5 km) and is held to that strictly.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from minka_certification.findings.models import Finding
from minka_certification.plan.improvement import OWNERS, LevelProgress, improvement_plan, next_level
from minka_certification.standards.document import (
    ClaimRule,
    Criterion,
    Equivalence,
    Indicator,
    Level,
    Principle,
    Scope,
    StandardDocument,
    StandardRef,
)
from minka_certification.tiers import (
    GroupContext,
    Outcome,
    Result,
    Status,
    claim_rule_level,
    compute_tier,
    indicator_statuses,
    level_reached,
    scheme_of,
)

F, G, L = Level.foundational, Level.good, Level.leading
NEAR_FOREST = {"forest_distance_km_lte": 5}
BASE_REF = StandardRef(code="BASE", version="1.0")
FS_REF = StandardRef(code="FS", version="1.0")
CLAIM_RULE = ClaimRule(level=G, min_share=0.8, floor=F)


def document(code: str, rows, *, bolt_on: bool = False, claims=(), claim_rule=None, equivalences=(),
             extras=None) -> StandardDocument:
    """A standard from (principle, indicator code, level, scope, applies_if) rows; one criterion per principle.
    ``extras`` maps an indicator code to more fields (due_year, guidance)."""
    extras = extras or {}
    principles: dict[str, list[Indicator]] = {}
    for principle, indicator, level, scope, applies_if in rows:
        principles.setdefault(principle, []).append(Indicator(
            code=indicator, text=f"text of {indicator}", level=level, scope=scope, applies_if=applies_if,
            **extras.get(indicator, {})))
    return StandardDocument(
        code=code, version="1.0", kind="bolt_on" if bolt_on else "base", base=BASE_REF if bolt_on else None,
        title=code, claims=list(claims), claim_rule=claim_rule, equivalences=list(equivalences),
        principles=[Principle(code=p, title=p, criteria=[Criterion(code=f"{p}-c", title=p, indicators=inds)])
                    for p, inds in principles.items()],
    )


# One principle, one group-scoped indicator per level.
BASE = document("BASE", [
    ("P1", "B-F", F, "group", None),
    ("P1", "B-G", G, "group", None),
    ("P1", "B-L", L, "group", None),
], claims=["responsible_asm"])

# The forest bolt-on: a site-, a member- and a group-scoped indicator, all only within 5 km of forest.
FOREST = document("FS", [
    ("FS1", "FS-F-site", F, "site", NEAR_FOREST),
    ("FS1", "FS-G-member", G, "member", NEAR_FOREST),
    ("FS1", "FS-G-group", G, "group", NEAR_FOREST),
], bolt_on=True, claims=["forest_smart"])

NEAR_SITE, FAR_SITE, OTHER_FAR_SITE = uuid.UUID(int=0x51), uuid.UUID(int=0x52), uuid.UUID(int=0x53)
NEAR_MEMBER, FAR_MEMBER, SITELESS_MEMBER = uuid.UUID(int=0x71), uuid.UUID(int=0x72), uuid.UUID(int=0x73)

ALL_FAR = GroupContext(site_forest_km={FAR_SITE: 8.0, OTHER_FAR_SITE: 12.5},
                       member_sites={FAR_MEMBER: FAR_SITE})
ONE_NEAR = GroupContext(site_forest_km={NEAR_SITE: 2.0, FAR_SITE: 8.0},
                        member_sites={NEAR_MEMBER: NEAR_SITE, FAR_MEMBER: FAR_SITE, SITELESS_MEMBER: None})

BASE_ALL_MET = [Result("B-F", Outcome.met), Result("B-G", Outcome.met), Result("B-L", Outcome.met)]


def statuses(**by_code: str) -> dict[str, Status]:
    """statuses(B_F="met") → {"B-F": Status.met}: keyword names use _ for -."""
    return {code.replace("_", "-"): Status(value) for code, value in by_code.items()}


def tier_of(results, context=ONE_NEAR, bolt_ons=(), **kwargs) -> Level | None:
    scheme = scheme_of(BASE, bolt_ons)
    return compute_tier(scheme, indicator_statuses(scheme, results, context), **kwargs).tier


# ------------------------------------------------------------------ base tiers


def test_every_indicator_met_gives_leading():
    assert tier_of(BASE_ALL_MET) == L


def test_one_good_indicator_not_met_gives_foundational():
    # F met; G not met → stop at good → foundational
    results = [Result("B-F", Outcome.met), Result("B-G", Outcome.not_met), Result("B-L", Outcome.met)]
    assert tier_of(results) == F


def test_a_foundational_indicator_not_met_gives_no_tier():
    results = [Result("B-F", Outcome.not_met), Result("B-G", Outcome.met), Result("B-L", Outcome.met)]
    assert tier_of(results) is None


def test_an_unassessed_indicator_blocks_its_level():
    # no result for B-G: unassessed, which is not "met" → foundational
    results = [Result("B-F", Outcome.met), Result("B-L", Outcome.met)]
    assert tier_of(results) == F


def test_a_not_applicable_result_does_not_block_its_level():
    results = [Result("B-F", Outcome.met), Result("B-G", Outcome.not_applicable), Result("B-L", Outcome.met)]
    assert tier_of(results) == L


def test_an_open_major_finding_on_a_met_good_indicator_gives_foundational():
    assert tier_of(BASE_ALL_MET, blocked=frozenset({"B-G"})) == F


def test_a_progress_requirement_not_yet_due_does_not_hold_the_tier_back():
    # B-F not met but excused (due later); B-G and B-L met → leading
    results = [Result("B-F", Outcome.not_met), Result("B-G", Outcome.met), Result("B-L", Outcome.met)]
    assert tier_of(results, excused=frozenset({"B-F"})) == L


def test_level_reached_needs_an_indicator_at_a_level_to_reach_it():
    # only foundational and good indicators, both met → good (leading was never shown)
    rules = [r for r in scheme_of(BASE).indicators if r.level != L]
    assert level_reached(rules, statuses(B_F="met", B_G="met")) == G


def test_level_reached_skips_a_level_without_indicators():
    # no foundational indicator; good met → good
    rules = [r for r in scheme_of(BASE).indicators if r.level == G]
    assert level_reached(rules, statuses(B_G="met")) == G


def test_nothing_met_gives_no_tier_and_no_claims():
    scheme = scheme_of(BASE)
    outcome = compute_tier(scheme, indicator_statuses(scheme, [], ONE_NEAR))
    assert (outcome.tier, outcome.claims) == (None, ())


# ------------------------------------------------------------------ the forest bolt-on


def test_with_every_site_far_from_forest_the_bolt_on_is_not_applied():
    # sites at 8 km and 12.5 km: every bolt-on indicator is not applicable, even with no bolt-on result at all
    scheme = scheme_of(BASE, [FOREST])
    found = indicator_statuses(scheme, BASE_ALL_MET, ALL_FAR)
    assert {found[code] for code in ("FS-F-site", "FS-G-member", "FS-G-group")} == {Status.not_applicable}

    outcome = compute_tier(scheme, found)

    assert outcome.tier == L
    assert outcome.applied_bolt_ons == ()
    assert outcome.claims == ("responsible_asm",)


def test_with_a_site_at_two_km_the_bolt_on_applies():
    results = [*BASE_ALL_MET, Result("FS-F-site", Outcome.met, site_id=NEAR_SITE),
               Result("FS-G-member", Outcome.met, member_id=NEAR_MEMBER), Result("FS-G-group", Outcome.met)]
    scheme = scheme_of(BASE, [FOREST])

    outcome = compute_tier(scheme, indicator_statuses(scheme, results, ONE_NEAR))

    assert outcome.tier == L  # the bolt-on has no leading indicator, so it does not hold leading back
    assert outcome.applied_bolt_ons == (FS_REF,)
    assert outcome.claims == ("responsible_asm", "forest_smart")


def test_an_applied_bolt_on_good_indicator_not_met_lowers_the_tier_to_foundational():
    # base: leading; bolt-on: foundational met, FS-G-group not met → the bolt-on allows foundational at most
    results = [*BASE_ALL_MET, Result("FS-F-site", Outcome.met, site_id=NEAR_SITE),
               Result("FS-G-member", Outcome.met, member_id=NEAR_MEMBER), Result("FS-G-group", Outcome.not_met)]
    assert tier_of(results, bolt_ons=[FOREST]) == F


def test_an_applied_bolt_on_without_results_takes_the_tier_away():
    # the bolt-on applies (site at 2 km) but nothing was assessed: its foundational level is not shown → None
    assert tier_of(BASE_ALL_MET, bolt_ons=[FOREST]) is None


def test_a_bolt_on_is_not_relaxed_by_the_base_claim_rule():
    base = document("BASE", [("P1", "B-F", F, "group", None), ("P1", "B-G", G, "group", None)], claim_rule=CLAIM_RULE)
    scheme = scheme_of(base, [FOREST])
    found = statuses(B_F="met", B_G="met", FS_F_site="met", FS_G_member="met", FS_G_group="not_met")
    assert compute_tier(scheme, found).tier == F


def test_a_bolt_on_with_only_foundational_indicators_does_not_cap_a_leading_group():
    # Bug fixed in tiers.compute_tier: the bolt-on was held to level_reached (foundational here), capping the
    # tier at foundational although every applicable indicator at leading and below is met.
    bolt_on = document("FS", [("FS1", "FS-F", F, "group", NEAR_FOREST)], bolt_on=True)
    scheme = scheme_of(BASE, [bolt_on])
    assert compute_tier(scheme, statuses(B_F="met", B_G="met", B_L="met", FS_F="met")).tier == L


def test_a_bolt_on_good_indicator_not_met_keeps_the_foundational_tier_when_it_has_no_foundational_one():
    # Bug fixed: with no foundational bolt-on indicator, level_reached gave None and the group lost its tier;
    # every applicable foundational indicator (the base's) is met → foundational.
    bolt_on = document("FS", [("FS1", "FS-G", G, "group", NEAR_FOREST)], bolt_on=True)
    scheme = scheme_of(BASE, [bolt_on])
    assert compute_tier(scheme, statuses(B_F="met", B_G="met", B_L="met", FS_G="not_met")).tier == F


def test_a_site_at_exactly_five_km_brings_the_bolt_on_in_and_five_point_zero_one_does_not():
    scheme = scheme_of(BASE, [FOREST])
    at_five = GroupContext(site_forest_km={NEAR_SITE: 5.0})
    just_out = GroupContext(site_forest_km={NEAR_SITE: 5.01})
    assert indicator_statuses(scheme, [], at_five)["FS-F-site"] == Status.unassessed
    assert indicator_statuses(scheme, [], just_out)["FS-F-site"] == Status.not_applicable


def test_a_site_of_unknown_distance_does_not_bring_the_bolt_on_in():
    scheme = scheme_of(BASE, [FOREST])
    unknown = GroupContext(site_forest_km={NEAR_SITE: None})
    assert indicator_statuses(scheme, [], unknown)["FS-F-site"] == Status.not_applicable


def test_a_site_scoped_result_for_the_far_site_is_ignored():
    scheme = scheme_of(BASE, [FOREST])
    results = [Result("FS-F-site", Outcome.met, site_id=NEAR_SITE),
               Result("FS-F-site", Outcome.not_met, site_id=FAR_SITE)]
    assert indicator_statuses(scheme, results, ONE_NEAR)["FS-F-site"] == Status.met


def test_a_site_scoped_result_for_the_near_site_counts():
    scheme = scheme_of(BASE, [FOREST])
    results = [Result("FS-F-site", Outcome.not_met, site_id=NEAR_SITE)]
    assert indicator_statuses(scheme, results, ONE_NEAR)["FS-F-site"] == Status.not_met


def test_only_a_far_site_result_leaves_the_bolt_on_indicator_unassessed():
    scheme = scheme_of(BASE, [FOREST])
    results = [Result("FS-F-site", Outcome.met, site_id=FAR_SITE)]
    assert indicator_statuses(scheme, results, ONE_NEAR)["FS-F-site"] == Status.unassessed


def test_a_member_at_the_near_site_is_held_to_a_member_scoped_bolt_on_indicator():
    scheme = scheme_of(BASE, [FOREST])
    results = [Result("FS-G-member", Outcome.not_met, member_id=NEAR_MEMBER)]
    assert indicator_statuses(scheme, results, ONE_NEAR)["FS-G-member"] == Status.not_met


def test_a_member_at_the_far_site_is_not_held_to_a_member_scoped_bolt_on_indicator():
    scheme = scheme_of(BASE, [FOREST])
    results = [Result("FS-G-member", Outcome.met, member_id=NEAR_MEMBER),
               Result("FS-G-member", Outcome.not_met, member_id=FAR_MEMBER)]
    assert indicator_statuses(scheme, results, ONE_NEAR)["FS-G-member"] == Status.met


def test_a_member_without_a_site_is_held_to_the_groups_nearest_site():
    # nearest site of ONE_NEAR is at 2 km → the indicator applies to the siteless member
    scheme = scheme_of(BASE, [FOREST])
    results = [Result("FS-G-member", Outcome.met, member_id=NEAR_MEMBER),
               Result("FS-G-member", Outcome.not_met, member_id=SITELESS_MEMBER)]
    assert indicator_statuses(scheme, results, ONE_NEAR)["FS-G-member"] == Status.not_met


def test_a_member_unknown_to_the_registry_is_held_to_the_groups_nearest_site():
    scheme = scheme_of(BASE, [FOREST])
    results = [Result("FS-G-member", Outcome.not_met, member_id=uuid.UUID(int=0xEE))]
    assert indicator_statuses(scheme, results, ONE_NEAR)["FS-G-member"] == Status.not_met


def test_a_member_scoped_bolt_on_indicator_does_not_apply_when_every_member_is_far():
    # a near site (2 km) but its only member works at the far site
    scheme = scheme_of(BASE, [FOREST])
    context = GroupContext(site_forest_km={NEAR_SITE: 2.0, FAR_SITE: 8.0}, member_sites={FAR_MEMBER: FAR_SITE})
    assert indicator_statuses(scheme, [], context)["FS-G-member"] == Status.not_applicable


# ------------------------------------------------------------------ equivalences


def test_a_bolt_on_indicator_without_its_own_result_takes_its_equivalents():
    bolt_on = document("FS", [("FS1", "FS-F", F, "group", NEAR_FOREST)], bolt_on=True,
                       equivalences=[Equivalence(indicator="FS-F", standard=BASE_REF, equivalent="B-F")])
    scheme = scheme_of(BASE, [bolt_on])
    assert indicator_statuses(scheme, [Result("B-F", Outcome.not_met)], ONE_NEAR)["FS-F"] == Status.not_met
    assert indicator_statuses(scheme, [Result("B-F", Outcome.met)], ONE_NEAR)["FS-F"] == Status.met


def test_an_indicators_own_result_wins_over_its_equivalents():
    bolt_on = document("FS", [("FS1", "FS-F", F, "group", NEAR_FOREST)], bolt_on=True,
                       equivalences=[Equivalence(indicator="FS-F", standard=BASE_REF, equivalent="B-F")])
    scheme = scheme_of(BASE, [bolt_on])
    results = [Result("B-F", Outcome.not_met), Result("FS-F", Outcome.met)]
    assert indicator_statuses(scheme, results, ONE_NEAR)["FS-F"] == Status.met


# ------------------------------------------------------------------ the claim rule

# Five principles, each with one foundational and one good indicator.
CLAIMING = document("BASE", [
    row for n in range(1, 6) for row in ((f"P{n}", f"P{n}-F", F, "group", None), (f"P{n}", f"P{n}-G", G, "group", None))
], claim_rule=CLAIM_RULE)


def claiming_statuses(good: int, foundational: int) -> dict[str, Status]:
    """The first ``good`` principles at good, the next ``foundational`` at foundational, the rest at none."""
    found = {}
    for n in range(1, 6):
        found[f"P{n}-F"] = Status.met if n <= good + foundational else Status.not_met
        found[f"P{n}-G"] = Status.met if n <= good else Status.not_met
    return found


def test_claim_rule_four_good_one_foundational_gives_good():
    # 4/5 = 0.8 ≥ 0.8 at good, the fifth at the foundational floor → good (strictly: foundational)
    outcome = compute_tier(scheme_of(CLAIMING), claiming_statuses(good=4, foundational=1))
    assert outcome.tier == G
    assert outcome.principle_levels == {"P1": G, "P2": G, "P3": G, "P4": G, "P5": F}


def test_claim_rule_three_good_two_foundational_gives_foundational():
    # 3/5 = 0.6 < 0.8 → the claim rule gives nothing; strictly every foundational is met → foundational
    assert compute_tier(scheme_of(CLAIMING), claiming_statuses(good=3, foundational=2)).tier == F


def test_claim_rule_four_good_one_below_the_floor_falls_back_to_the_strict_tier():
    # P5 reaches no level: the floor fails → no claim; strictly P5-F is not met → None
    assert compute_tier(scheme_of(CLAIMING), claiming_statuses(good=4, foundational=0)).tier is None


def test_claim_rule_level_on_hand_written_principle_levels():
    assert claim_rule_level(CLAIM_RULE, {"A": G, "B": G, "C": G, "D": L, "E": F}) == G  # 4/5 at good or above
    assert claim_rule_level(CLAIM_RULE, {"A": G, "B": G, "C": G, "D": F, "E": F}) is None  # 3/5
    assert claim_rule_level(CLAIM_RULE, {"A": G, "B": G, "C": G, "D": G, "E": None}) is None  # floor fails
    assert claim_rule_level(CLAIM_RULE, {}) is None


def test_the_claim_rule_never_lowers_the_strict_tier():
    # every indicator met: strictly good; the claim rule also says good
    all_met = {code: Status.met for code in claiming_statuses(5, 0)}
    assert compute_tier(scheme_of(CLAIMING), all_met).tier == G


def test_a_principle_with_nothing_applicable_does_not_count_for_the_claim_rule():
    # P5 entirely not applicable: 4 applicable principles, all at good → 4/4 → good
    found = claiming_statuses(good=4, foundational=1)
    found["P5-F"] = found["P5-G"] = Status.not_applicable
    outcome = compute_tier(scheme_of(CLAIMING), found)
    assert outcome.tier == G
    assert "P5" not in outcome.principle_levels


# ------------------------------------------------------------------ improvement plan

PLAN_BASE = document("BASE", [
    ("P1", "F-met", F, "group", None),
    ("P1", "F-unmet", F, "member", None),
    ("P1", "F-progress", F, "site", None),
    ("P2", "G-met", G, "group", None),
    ("P2", "G-unassessed", G, "group", None),
    ("P2", "G-na", G, "group", None),
    ("P3", "L-unmet", L, "group", None),
], extras={"F-progress": {"due_year": 3, "guidance": "Fence the tailings pond"}})
PLAN_STATUSES = {"F-met": Status.met, "F-unmet": Status.not_met, "F-progress": Status.not_met,
                 "G-met": Status.met, "G-unassessed": Status.unassessed, "G-na": Status.not_applicable,
                 "L-unmet": Status.not_met}
TODAY = date(2026, 6, 1)


def finding(indicator: str, due_on: date) -> Finding:
    return Finding(certification_id=uuid.UUID(int=1), indicator=indicator, severity="major",
                   opened_at=datetime(2026, 5, 1, tzinfo=UTC), due_on=due_on, opened_by="auditor")


def test_next_level_climbs_one_level_at_a_time():
    assert [next_level(None), next_level(F), next_level(G), next_level(L)] == [F, G, L, None]


def test_progress_counts_met_and_applicable_indicators_per_level():
    # foundational: 1 of 3 met; good: 1 of 2 (G-na is not applicable); leading: 0 of 1
    plan = improvement_plan(scheme_of(PLAN_BASE), PLAN_STATUSES, [], None, None, TODAY)
    assert plan.progress == {F: LevelProgress(met=1, total=3), G: LevelProgress(met=1, total=2),
                             L: LevelProgress(met=0, total=1)}


def test_an_open_finding_takes_its_indicator_out_of_the_met_count():
    plan = improvement_plan(scheme_of(PLAN_BASE), PLAN_STATUSES, [finding("G-met", date(2026, 8, 1))], None, None, TODAY)
    assert plan.progress[G] == LevelProgress(met=0, total=2)


def test_without_a_tier_the_plan_aims_at_foundational_only():
    plan = improvement_plan(scheme_of(PLAN_BASE), PLAN_STATUSES, [], None, None, TODAY)
    assert plan.next_tier == F
    # ordered by level, then deadline (F-progress due 2029-06-01 before the undated F-unmet)
    assert [a.indicator for a in plan.actions] == ["F-progress", "F-unmet"]


def test_the_plan_aims_at_the_next_tier_and_the_levels_below():
    # at foundational (F-progress excused) → next good: unmet foundational and good actions, none for leading
    plan = improvement_plan(scheme_of(PLAN_BASE), PLAN_STATUSES, [], F, None, TODAY)
    assert plan.next_tier == G
    assert {a.indicator for a in plan.actions} == {"F-unmet", "F-progress", "G-unassessed"}


def test_at_leading_there_is_no_next_tier_and_no_action():
    plan = improvement_plan(scheme_of(PLAN_BASE), PLAN_STATUSES, [], L, None, TODAY)
    assert (plan.next_tier, plan.actions) == (None, [])


def test_an_open_finding_gives_the_action_its_deadline():
    open_finding = finding("G-met", date(2026, 8, 29))
    plan = improvement_plan(scheme_of(PLAN_BASE), PLAN_STATUSES, [open_finding], F, None, TODAY)
    action = next(a for a in plan.actions if a.indicator == "G-met")
    assert (action.status, action.due_on, action.finding_id) == ("open finding", date(2026, 8, 29), open_finding.id)


def test_a_progress_requirement_is_due_its_due_year_after_first_certification():
    # first certified 2025-03-15, due_year 3 → 2028-03-15
    plan = improvement_plan(scheme_of(PLAN_BASE), PLAN_STATUSES, [], None, date(2025, 3, 15), TODAY)
    action = next(a for a in plan.actions if a.indicator == "F-progress")
    assert action.due_on == date(2028, 3, 15)
    assert action.action == "Fence the tailings pond"
    assert action.owner == OWNERS[Scope.site]


def test_before_first_certification_a_progress_requirement_counts_from_today():
    # today 2026-06-01, due_year 3 → 2029-06-01
    plan = improvement_plan(scheme_of(PLAN_BASE), PLAN_STATUSES, [], None, None, TODAY)
    assert next(a for a in plan.actions if a.indicator == "F-progress").due_on == date(2029, 6, 1)


def test_an_indicator_without_finding_or_due_year_has_no_deadline():
    plan = improvement_plan(scheme_of(PLAN_BASE), PLAN_STATUSES, [], None, None, TODAY)
    action = next(a for a in plan.actions if a.indicator == "F-unmet")
    assert (action.due_on, action.status, action.owner) == (None, "not_met", OWNERS[Scope.member])
    assert action.action == "Meet the indicator: text of F-unmet"
