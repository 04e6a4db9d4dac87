"""The claim rules as plain functions, worked by hand: what a lot claims at origin, what splits, receipts and
transformations pass on, what merges keep, and that rounding never creates certified mass.

Randomised loops at the end (a fixed seed, so a failure can be replayed) check the same promises over many splits.
"""

from __future__ import annotations

import random
import uuid
from datetime import date
from decimal import Decimal, localcontext

from minka_common.certification_client import CoverageStatus, StandardRef
from minka_common.mass import QUANTUM
from minka_traceability.claims import (
    NOTHING_CERTIFIED,
    Claims,
    Portion,
    certified_share,
    inherited,
    merged_mass_balance,
    merged_segregated,
    origin_claims,
)

BASE = StandardRef(code="MINKA-ASM", version="1.0")
FOREST = StandardRef(code="FOREST-SMART", version="1.0")
OTHER = StandardRef(code="FAIRMINED", version="2.0")


def kg(value: str) -> Decimal:
    return Decimal(value)


def status(covered: bool = True, tier: str | None = "good", standards: tuple[StandardRef, ...] = (BASE, FOREST),
           forest_smart: bool = True) -> CoverageStatus:
    return CoverageStatus(cooperative_id=uuid.uuid4(), on=date(2024, 3, 1), covered=covered, tier=tier,
                          standards=list(standards), forest_smart=forest_smart)


def certified(certified_kg: str, tier: str = "good", standards: tuple[StandardRef, ...] = (BASE,),
              forest_smart: bool = False, mercury_free: bool = False) -> Claims:
    return Claims(tier=tier, standards=frozenset(standards), forest_smart=forest_smart, mercury_free=mercury_free,
                  certified_kg=kg(certified_kg))


def portion(mass_kg: str, claims: Claims) -> Portion:
    return Portion(claims, kg(mass_kg))


def certified_masses(claims: list[Claims]) -> list[Decimal]:
    return [c.certified_kg for c in claims]


# --- at origin ---------------------------------------------------------------------------------------------------


def test_a_covered_producer_certifies_the_whole_lot_with_its_tier_and_standards():
    claims = origin_claims(status(), mercury_free=True, mass_kg=kg("1.5"))
    assert claims == Claims(tier="good", standards=frozenset({BASE, FOREST}), forest_smart=True, mercury_free=True,
                            certified_kg=kg("1.5"))
    assert claims.certified


def test_an_uncovered_producer_claims_nothing_but_what_the_cooperative_declared():
    claims = origin_claims(status(covered=False), mercury_free=True, mass_kg=kg("1.5"))
    assert claims == Claims(mercury_free=True)
    assert not claims.certified and claims.tier is None and claims.standards == frozenset()
    assert not claims.forest_smart


def test_a_tier_this_service_does_not_know_certifies_nothing():
    assert origin_claims(status(tier="platinum"), False, kg("2")) == NOTHING_CERTIFIED
    assert origin_claims(status(tier=None), False, kg("2")) == NOTHING_CERTIFIED


def test_coverage_without_any_standard_certifies_nothing():
    assert origin_claims(status(standards=()), True, kg("2")) == Claims(mercury_free=True)


# --- split, transform and receipt --------------------------------------------------------------------------------


def test_an_uncertified_lot_passes_on_only_its_declarations():
    parent = portion("1", Claims(mercury_free=True))
    for segregated in (True, False):
        assert inherited(parent, [kg("0.4"), kg("0.6")], segregated) == [Claims(mercury_free=True)] * 2


def test_segregated_parts_are_each_certified_whole():
    parent = portion("1", certified("1", tier="leading", standards=(BASE, FOREST), forest_smart=True))
    parts = inherited(parent, [kg("0.25"), kg("0.7")], segregated=True)  # 0.05 kg lost
    assert certified_masses(parts) == [kg("0.25"), kg("0.7")]
    assert all(p.tier == "leading" and p.standards == {BASE, FOREST} and p.forest_smart for p in parts)


def test_mass_balance_parts_share_the_certified_mass_by_weight():
    parent = portion("1", certified("0.3"))
    assert certified_masses(inherited(parent, [kg("0.5"), kg("0.5")], segregated=False)) == [kg("0.15")] * 2
    assert certified_masses(inherited(parent, [kg("0.2"), kg("0.8")], segregated=False)) == [kg("0.06"), kg("0.24")]


def test_a_fully_certified_mass_balance_lot_passes_each_part_its_own_mass():
    parent = portion("0.3", certified("0.3"))
    parts = [kg("0.1"), kg("0.1"), kg("0.1")]
    assert certified_masses(inherited(parent, parts, segregated=False)) == parts


def test_thirds_that_do_not_divide_exactly_still_add_up_to_the_parents_certified_mass():
    # 0.1 kg certified of 0.3 kg, split in three: each exact share is 0.0333…, rounded down to 16 decimals,
    # and the one quantum rounding dropped goes back to a part, so nothing is lost and nothing made.
    parent = portion("0.3", certified("0.1"))
    shares = certified_masses(inherited(parent, [kg("0.1")] * 3, segregated=False))
    assert shares == [kg("0.0333333333333334"), kg("0.0333333333333333"), kg("0.0333333333333333")]
    assert sum(shares) == kg("0.1")
    assert all(share <= kg("0.1") for share in shares)


def test_the_quanta_rounding_drops_go_to_the_largest_parts():
    parent = portion("0.7", certified("0.1"))
    shares = certified_masses(inherited(parent, [kg("0.1"), kg("0.5"), kg("0.1")], segregated=False))
    # exact shares 0.0142857142857142…, 0.0714285714285714…, 0.0142857142857142…: the lost quantum goes to 0.5 kg
    assert shares == [kg("0.0142857142857142"), kg("0.0714285714285716"), kg("0.0142857142857142")]
    assert sum(shares) == kg("0.1")


def test_a_declared_loss_reduces_the_certified_mass_in_proportion():
    parent = portion("1", certified("0.3"))
    shares = certified_masses(inherited(parent, [kg("0.3"), kg("0.3"), kg("0.3")], segregated=False))  # 0.1 lost
    assert shares == [kg("0.09")] * 3


def test_a_loss_that_does_not_divide_exactly_rounds_the_certified_mass_down():
    # 0.1 of 0.3 kg certified; 0.1 kg lost: 0.0666… kg remains certified, rounded down, never up to …67.
    parent = portion("0.3", certified("0.1"))
    shares = certified_masses(inherited(parent, [kg("0.1"), kg("0.1")], segregated=False))
    assert sum(shares) == kg("0.0666666666666666")
    assert shares == [kg("0.0333333333333333")] * 2
    [smelted] = inherited(portion("3", certified("1")), [kg("2")], segregated=False)
    assert smelted.certified_kg == kg("0.6666666666666666")


def test_a_part_whose_share_rounds_to_nothing_claims_nothing():
    parent = portion("1", certified(format(QUANTUM, "f"), tier="leading", mercury_free=True))
    first, second = inherited(parent, [kg("0.5"), kg("0.5")], segregated=False)
    assert first.certified_kg == QUANTUM and first.tier == "leading"
    assert second == Claims(mercury_free=True)


def test_a_receipt_heavier_than_dispatched_never_increases_the_certified_mass():
    [received] = inherited(portion("1", certified("0.5")), [kg("1.2")], segregated=False)
    assert received.certified_kg == kg("0.5")
    [received] = inherited(portion("1", certified("1")), [kg("1.2")], segregated=False)
    assert received.certified_kg == kg("1")
    [lighter] = inherited(portion("1", certified("0.5")), [kg("0.8")], segregated=False)
    assert lighter.certified_kg == kg("0.4")


def test_a_segregated_receipt_stays_certified_whole_at_the_weight_received():
    """Segregated material is certified as a whole: the lot's certified mass is its mass, whatever the scale says
    (a difference beyond tolerance is a red flag, not a change of claim)."""
    claims = certified("1", tier="good", standards=(BASE,))
    [heavier] = inherited(portion("1", claims), [kg("1.2")], segregated=True)
    [lighter] = inherited(portion("1", claims), [kg("0.9")], segregated=True)
    assert heavier.certified_kg == kg("1.2") and lighter.certified_kg == kg("0.9")
    assert heavier.tier == lighter.tier == "good"


# --- merges ------------------------------------------------------------------------------------------------------


def test_a_segregated_merge_keeps_the_shared_standards_at_the_lowest_tier():
    merged = merged_segregated([
        portion("1", certified("1", tier="leading", standards=(BASE, FOREST), forest_smart=True, mercury_free=True)),
        portion("0.5", certified("0.5", tier="good", standards=(BASE, OTHER), forest_smart=True, mercury_free=True)),
    ])
    assert merged == Claims(tier="good", standards=frozenset({BASE}), forest_smart=True, mercury_free=True,
                            certified_kg=kg("1.5"))


def test_a_segregated_merge_is_forest_smart_and_mercury_free_only_if_every_input_is():
    merged = merged_segregated([
        portion("1", certified("1", forest_smart=True, mercury_free=True)),
        portion("1", certified("1", forest_smart=False, mercury_free=False)),
    ])
    assert merged.certified_kg == kg("2") and not merged.forest_smart and not merged.mercury_free


def test_one_uncertified_input_leaves_a_segregated_merge_uncertified():
    merged = merged_segregated([
        portion("1", certified("1", tier="leading", mercury_free=True)),
        portion("0.001", Claims(mercury_free=True)),
    ])
    assert merged == Claims(mercury_free=True)


def test_a_partly_certified_input_leaves_a_segregated_merge_uncertified():
    merged = merged_segregated([portion("1", certified("1")), portion("1", certified("0.5"))])
    assert merged == NOTHING_CERTIFIED


def test_a_segregated_merge_without_a_standard_in_common_is_uncertified():
    merged = merged_segregated([
        portion("1", certified("1", standards=(BASE,))),
        portion("1", certified("1", standards=(OTHER,))),
    ])
    assert merged == NOTHING_CERTIFIED


def test_a_mass_balance_merge_adds_the_certified_masses():
    merged = merged_mass_balance([
        portion("1", certified("1", tier="good", standards=(BASE, FOREST), forest_smart=True, mercury_free=True)),
        portion("2", certified("0.5", tier="leading", standards=(BASE,), mercury_free=True)),
        portion("3", Claims(mercury_free=True)),
    ])
    assert merged == Claims(tier="good", standards=frozenset({BASE}), forest_smart=False, mercury_free=True,
                            certified_kg=kg("1.5"))


def test_an_uncertified_input_to_a_mass_balance_merge_lowers_neither_tier_nor_standards():
    merged = merged_mass_balance([
        portion("1", certified("1", tier="leading", standards=(BASE, FOREST), forest_smart=True)),
        portion("9", NOTHING_CERTIFIED),
    ])
    assert (merged.tier, merged.standards, merged.forest_smart) == ("leading", {BASE, FOREST}, True)
    assert merged.certified_kg == kg("1")


def test_a_mass_balance_merge_is_mercury_free_only_if_every_input_is():
    merged = merged_mass_balance([portion("1", certified("1", mercury_free=True)), portion("1", NOTHING_CERTIFIED)])
    assert merged.certified and not merged.mercury_free


def test_a_mass_balance_merge_of_uncertified_lots_claims_nothing():
    merged = merged_mass_balance([portion("1", Claims(mercury_free=True)), portion("2", Claims(mercury_free=True))])
    assert merged == Claims(mercury_free=True)


def test_a_mass_balance_merge_of_contributions_without_a_standard_in_common_claims_nothing():
    merged = merged_mass_balance([portion("1", certified("1", standards=(BASE,))),
                                  portion("1", certified("1", standards=(OTHER,)))])
    assert merged == NOTHING_CERTIFIED


# --- certified share ---------------------------------------------------------------------------------------------


def test_the_certified_share_has_four_decimals_rounded_down():
    assert certified_share(certified("2.50000083095072"), kg("4.50000083095072")) == kg("0.5555")
    assert certified_share(certified("2"), kg("3")) == kg("0.6666")
    assert certified_share(certified("1"), kg("3")) == kg("0.3333")
    assert certified_share(certified("0.99999"), kg("1")) == kg("0.9999")
    assert certified_share(certified("1"), kg("1")) == kg("1")
    assert certified_share(NOTHING_CERTIFIED, kg("1")) == kg("0")


def test_a_lot_of_no_mass_has_no_certified_share():
    assert certified_share(NOTHING_CERTIFIED, kg("0")) == kg("0")


# --- many random splits ------------------------------------------------------------------------------------------


def random_mass(rng: random.Random, low_quanta: int = 1, high_quanta: int = 10**18) -> Decimal:
    return rng.randint(low_quanta, high_quanta) * QUANTUM


def random_parts(rng: random.Random, total: Decimal, count: int) -> list[Decimal]:
    """``count`` positive parts of exactly ``total`` (which must hold at least ``count`` quanta)."""
    quanta = int(total / QUANTUM)
    cuts = sorted(rng.sample(range(1, quanta), count - 1))
    bounds = [0, *cuts, quanta]
    return [(end - start) * QUANTUM for start, end in zip(bounds, bounds[1:], strict=False)]


def random_split(rng: random.Random) -> tuple[Portion, list[Decimal]]:
    """A certified parent and parts of it, with or without a loss."""
    parent_kg = random_mass(rng, 1000)
    certified_kg = rng.choice([parent_kg, random_mass(rng, 1, int(parent_kg / QUANTUM))])
    kept_kg = parent_kg if rng.random() < 0.5 else random_mass(rng, 100, int(parent_kg / QUANTUM))
    parts = random_parts(rng, kept_kg, rng.randint(1, min(12, int(kept_kg / QUANTUM))))
    return Portion(certified(format(certified_kg, "f")), parent_kg), parts


def test_random_mass_balance_splits_never_create_certified_mass():
    rng = random.Random(20240301)
    for _ in range(2000):
        parent, parts = random_split(rng)
        shares = certified_masses(inherited(parent, parts, segregated=False))
        with localcontext() as context:
            context.prec = 80
            exact_bound = parent.claims.certified_kg * sum(parts) / parent.mass_kg
        assert sum(shares) <= parent.claims.certified_kg
        assert sum(shares) <= exact_bound
        assert all(0 <= share <= part for share, part in zip(shares, parts, strict=True))
        assert all(share == share.quantize(QUANTUM) for share in shares)
        if sum(parts) == parent.mass_kg:
            assert sum(shares) == parent.claims.certified_kg


def test_random_receipts_never_carry_more_than_was_dispatched():
    rng = random.Random(7)
    for _ in range(2000):
        parent, _ = random_split(rng)
        received_kg = random_mass(rng, 1, 2 * int(parent.mass_kg / QUANTUM))
        [claims] = inherited(parent, [received_kg], segregated=False)
        assert claims.certified_kg <= min(parent.claims.certified_kg, received_kg)


def test_random_chains_of_splits_and_merges_never_grow_the_certified_mass():
    rng = random.Random(42)
    for _ in range(300):
        parent, parts = random_split(rng)
        start = parent.claims.certified_kg
        pieces = [Portion(c, p) for c, p in zip(inherited(parent, parts, segregated=False), parts, strict=True)]
        for _ in range(5):
            merged = Portion(merged_mass_balance(pieces), sum(p.mass_kg for p in pieces))
            count = rng.randint(1, min(6, int(merged.mass_kg / QUANTUM)))
            again = random_parts(rng, merged.mass_kg, count)
            pieces = [Portion(c, p) for c, p in zip(inherited(merged, again, segregated=False), again, strict=True)]
            assert sum(p.claims.certified_kg for p in pieces) <= start
            assert all(p.claims.certified_kg <= p.mass_kg for p in pieces)
