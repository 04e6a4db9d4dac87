"""The audit sample as plain rules, with hand-worked numbers (no HTTP, no database)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

import pytest

from minka_certification.audits.sampling import (
    HighRiskReason,
    Member,
    draw_rank,
    draw_sample,
    high_risk_members,
    sample_size,
)


def ids(*numbers: int) -> list[uuid.UUID]:
    return [uuid.UUID(int=n) for n in numbers]


# ------------------------------------------------------------------ sample_size


def test_a_single_member_is_sampled():
    assert sample_size(1, 1) == 1


def test_a_group_of_ten_is_sampled_in_full_whatever_the_risk():
    # n ≤ 10: every member, even at risk 1 where ⌈√10⌉ would be 4
    assert sample_size(10, 1) == 10
    assert sample_size(10, 4) == 10


def test_eleven_members_at_low_risk_give_four():
    # √11 = 3.317 → ⌈3.317⌉ = 4
    assert sample_size(11, 1) == 4


def test_a_perfect_square_is_not_rounded_up():
    # √16 = 4 exactly → 4, not 5
    assert sample_size(16, 1) == 4


@pytest.mark.parametrize(
    ("risk", "expected"),
    [
        (1, 7),  # √40 = 6.325 → 7
        (2, 13),  # 6.325 × 2 = 12.65 → 13
        (3, 19),  # 6.325 × 3 = 18.97 → 19
        (4, 26),  # 6.325 × 4 = 25.30 → 26
    ],
)
def test_forty_members_scale_with_the_risk_factor(risk, expected):
    assert sample_size(40, risk) == expected


def test_a_hundred_members_at_risk_three_give_thirty():
    # √100 × 3 = 10 × 3 = 30 exactly
    assert sample_size(100, 3) == 30


def test_the_size_never_exceeds_the_population():
    # √12 × 4 = 3.464 × 4 = 13.86 → 14, but there are only 12 members
    assert sample_size(12, 4) == 12


@pytest.mark.parametrize("risk", [0, 5, -1])
def test_a_risk_factor_outside_one_to_four_is_refused(risk):
    with pytest.raises(ValueError):
        sample_size(40, risk)


# ------------------------------------------------------------------ draw_sample

POPULATION_40 = ids(*range(1, 41))


def test_high_risk_members_are_all_in_even_beyond_the_sample_size():
    # 40 members at risk 1 → size 7; 9 members are high-risk → all 9 in, nobody else drawn
    high_risk = set(POPULATION_40[:9])
    sample = draw_sample(POPULATION_40, high_risk, 1, "seed")
    assert set(sample) == high_risk


def test_high_risk_members_fill_places_first_and_the_draw_fills_the_rest():
    # size 7, 3 high-risk → those 3 plus 4 others
    high_risk = set(POPULATION_40[:3])
    sample = draw_sample(POPULATION_40, high_risk, 1, "seed")
    assert len(sample) == 7
    assert high_risk <= set(sample)


def test_high_risk_ids_outside_the_population_are_not_added():
    outsider = uuid.UUID(int=999)
    sample = draw_sample(POPULATION_40, {outsider}, 1, "seed")
    assert outsider not in sample
    assert len(sample) == 7


def test_the_same_seed_and_population_give_the_same_sample():
    first = draw_sample(POPULATION_40, set(), 1, "coop-2026")
    again = draw_sample(list(reversed(POPULATION_40)), set(), 1, "coop-2026")
    assert first == again


def test_a_different_seed_gives_a_different_sample():
    # checked once: these two seeds draw different 7-member samples out of 40
    assert draw_sample(POPULATION_40, set(), 1, "coop-2026") != draw_sample(POPULATION_40, set(), 1, "coop-2027")


def test_the_sample_is_returned_sorted():
    sample = draw_sample(POPULATION_40, set(), 2, "coop-2026")
    assert sample == sorted(sample)


def test_the_rank_is_the_sha256_of_seed_colon_member_id():
    member = uuid.UUID(int=0xC1)
    expected = hashlib.sha256(b"audit-2026:00000000-0000-0000-0000-0000000000c1").hexdigest()
    assert draw_rank("audit-2026", member) == expected


def test_the_member_with_the_lowest_hash_takes_the_last_place():
    # 13 members at risk 3: √13 × 3 = 3.606 × 3 = 10.82 → 11 places.
    # 10 are high-risk, so 1 place is left for the 3 others c1, c2, c3.
    # `printf 'audit-2026:<id>' | sha256sum` gives c1 → 7379…, c2 → 44df…, c3 → bc2a…: c2 is lowest.
    high_risk = ids(*range(1, 11))
    others = ids(0xC1, 0xC2, 0xC3)
    hashes = {m: hashlib.sha256(f"audit-2026:{m}".encode()).hexdigest() for m in others}
    assert min(hashes, key=hashes.__getitem__) == uuid.UUID(int=0xC2)
    assert hashes[uuid.UUID(int=0xC2)].startswith("44dfa5fe")

    sample = draw_sample(high_risk + others, set(high_risk), 3, "audit-2026")

    assert sample == sorted([*high_risk, uuid.UUID(int=0xC2)])


def test_without_high_risk_members_the_lowest_hashes_are_drawn():
    # 11 members at risk 1 → ⌈√11⌉ = 4 places: the 4 lowest sha256 ranks, re-computed here with hashlib.
    population = ids(*range(101, 112))
    ranked = sorted(population, key=lambda m: hashlib.sha256(f"check:{m}".encode()).hexdigest())
    assert draw_sample(population, set(), 1, "check") == sorted(ranked[:4])


def test_a_small_group_is_sampled_in_full():
    population = ids(1, 2, 3)
    assert draw_sample(population, set(), 1, "any") == population


# ------------------------------------------------------------------ high_risk_members

LAST_AUDIT = date(2026, 3, 1)
NEAR, EDGE, JUST_OUT, FAR, UNKNOWN = ids(0xA1, 0xA2, 0xA3, 0xA4, 0xA5)
SITES = {NEAR: 1.2, EDGE: 5.0, JUST_OUT: 5.01, FAR: 30.0, UNKNOWN: None}


def reasons(member: Member, *, open_findings=(), last_audit_on=LAST_AUDIT) -> list[HighRiskReason]:
    return high_risk_members([member], SITES, set(open_findings), last_audit_on).get(member.id, [])


def test_a_member_with_an_open_finding_is_high_risk():
    member = Member(uuid.UUID(int=1), date(2020, 1, 1), FAR)
    assert reasons(member, open_findings={member.id}) == [HighRiskReason.open_finding]


def test_a_member_who_joined_after_the_last_audit_is_high_risk():
    member = Member(uuid.UUID(int=1), date(2026, 3, 2), FAR)
    assert reasons(member) == [HighRiskReason.joined_since_last_audit]


def test_a_member_who_joined_on_the_last_audit_date_is_not():
    member = Member(uuid.UUID(int=1), date(2026, 3, 1), FAR)
    assert reasons(member) == []


def test_on_an_initial_audit_nobody_has_joined_since():
    member = Member(uuid.UUID(int=1), date(2026, 3, 2), FAR)
    assert reasons(member, last_audit_on=None) == []


def test_a_site_within_five_km_of_forest_makes_its_member_high_risk():
    assert reasons(Member(uuid.UUID(int=1), date(2020, 1, 1), NEAR)) == [HighRiskReason.site_near_forest]


def test_exactly_five_km_counts_as_near_forest():
    assert reasons(Member(uuid.UUID(int=1), date(2020, 1, 1), EDGE)) == [HighRiskReason.site_near_forest]


def test_five_point_zero_one_km_is_not_near_forest():
    assert reasons(Member(uuid.UUID(int=1), date(2020, 1, 1), JUST_OUT)) == []


def test_a_member_without_a_site_is_not_near_forest():
    assert reasons(Member(uuid.UUID(int=1), date(2020, 1, 1), None)) == []


def test_a_site_of_unknown_distance_is_not_near_forest():
    assert reasons(Member(uuid.UUID(int=1), date(2020, 1, 1), UNKNOWN)) == []


def test_a_site_missing_from_the_registry_is_not_near_forest():
    assert reasons(Member(uuid.UUID(int=1), date(2020, 1, 1), uuid.UUID(int=0xFF))) == []


def test_every_reason_is_listed_and_low_risk_members_are_left_out():
    risky = Member(uuid.UUID(int=1), date(2026, 6, 1), NEAR)
    calm = Member(uuid.UUID(int=2), date(2020, 1, 1), FAR)
    found = high_risk_members([risky, calm], SITES, {risky.id}, LAST_AUDIT)
    assert found == {risky.id: [HighRiskReason.open_finding, HighRiskReason.joined_since_last_audit,
                                HighRiskReason.site_near_forest]}
