"""The red-flag rules as plain functions, worked by hand: where the tolerance and the capacity end, and that a
flag carries the numbers behind it, exactly as recorded."""

from __future__ import annotations

from decimal import Decimal

from minka_traceability.red_flags.rules import (
    Rule,
    above_capacity,
    mass_discrepancy,
    suspended_claim,
    unregistered_custodian,
)

HALF_PERCENT = Decimal("0.5")


def kg(value: str) -> Decimal:
    return Decimal(value)


# --- mass received against mass dispatched -----------------------------------------------------------------------


def test_a_receipt_of_the_dispatched_mass_raises_nothing():
    assert mass_discrepancy(kg("10"), kg("10"), HALF_PERCENT) is None
    assert mass_discrepancy(kg("10"), kg("10"), Decimal(0)) is None


def test_a_difference_of_exactly_the_tolerance_raises_nothing_either_way():
    assert mass_discrepancy(kg("10"), kg("10.05"), HALF_PERCENT) is None
    assert mass_discrepancy(kg("10"), kg("9.95"), HALF_PERCENT) is None


def test_a_gain_just_beyond_the_tolerance_is_flagged():
    finding = mass_discrepancy(kg("10"), kg("10.0500000000000001"), HALF_PERCENT)
    assert finding is not None and finding.rule == Rule.mass_discrepancy
    assert finding.details == {"dispatched_kg": "10", "received_kg": "10.0500000000000001",
                               "difference_kg": "0.0500000000000001", "tolerance_percent": "0.5"}
    assert finding.message == ("received 10.0500000000000001 kg of 10 kg dispatched "
                               "(+0.0500000000000001 kg, tolerance 0.5 %)")


def test_a_loss_just_beyond_the_tolerance_is_flagged_with_a_negative_difference():
    finding = mass_discrepancy(kg("10"), kg("9.9499999999999999"), HALF_PERCENT)
    assert finding is not None and finding.rule == Rule.mass_discrepancy
    assert finding.details["difference_kg"] == "-0.0500000000000001"
    assert finding.details["received_kg"] == "9.9499999999999999"
    assert finding.message == ("received 9.9499999999999999 kg of 10 kg dispatched "
                               "(-0.0500000000000001 kg, tolerance 0.5 %)")


def test_with_no_tolerance_the_smallest_difference_is_flagged():
    finding = mass_discrepancy(kg("1"), kg("0.9999999999999999"), Decimal(0))
    assert finding is not None and finding.details["difference_kg"] == "-0.0000000000000001"


def test_the_tolerance_is_a_share_of_what_was_dispatched_not_of_what_was_received():
    # 2 % of 100 kg is 2 kg: 98 kg is within it although 2 kg is more than 2 % of 98 kg.
    assert mass_discrepancy(kg("100"), kg("98"), Decimal(2)) is None
    assert mass_discrepancy(kg("98"), kg("100"), Decimal(2)) is not None


def test_a_tolerance_that_falls_between_two_recordable_masses_is_not_rounded_up():
    # 1.5 % of 0.3333333333333333 kg is 0.0049999999999999995 kg: a difference of 0.005 kg is beyond it.
    dispatched = kg("0.3333333333333333")
    assert mass_discrepancy(dispatched, dispatched + kg("0.0049999999999999"), Decimal("1.5")) is None
    assert mass_discrepancy(dispatched, dispatched - kg("0.0049999999999999"), Decimal("1.5")) is None
    assert mass_discrepancy(dispatched, dispatched + kg("0.005"), Decimal("1.5")) is not None
    assert mass_discrepancy(dispatched, dispatched - kg("0.005"), Decimal("1.5")) is not None


def test_the_numbers_of_a_huge_receipt_are_reported_to_the_last_digit():
    """38 significant digits, beyond the 28 Python computes with by default."""
    finding = mass_discrepancy(kg("1000000000000000000000.0000000000000001"),
                               kg("2000000000000000000000.0000000000000002"), HALF_PERCENT)
    assert finding is not None
    assert finding.details["difference_kg"] == "1000000000000000000000.0000000000000001"
    assert finding.details["received_kg"] == "2000000000000000000000.0000000000000002"


def test_a_receipt_of_nothing_is_flagged():
    finding = mass_discrepancy(kg("2.5"), kg("0"), HALF_PERCENT)
    assert finding is not None
    assert finding.details == {"dispatched_kg": "2.5", "received_kg": "0", "difference_kg": "-2.5",
                               "tolerance_percent": "0.5"}


# --- production against declared capacity ------------------------------------------------------------------------


def test_production_up_to_the_declared_capacity_raises_nothing():
    assert above_capacity(kg("100"), kg("99.9999999999999999"), "2024-03") is None
    assert above_capacity(kg("100"), kg("100"), "2024-03") is None


def test_production_above_the_declared_capacity_is_flagged_with_the_month_and_both_numbers():
    finding = above_capacity(kg("100"), kg("100.0000000000000001"), "2024-03")
    assert finding is not None and finding.rule == Rule.above_capacity
    assert finding.details == {"month": "2024-03", "recorded_kg": "100.0000000000000001",
                               "capacity_kg_per_month": "100"}
    assert finding.message == ("100.0000000000000001 kg recorded at the site in 2024-03, above its declared "
                               "capacity of 100 kg per month")


def test_a_site_without_a_declared_capacity_is_never_above_it():
    assert above_capacity(None, kg("9999999999999999999999"), "2024-03") is None


def test_a_declared_capacity_of_zero_flags_any_production():
    finding = above_capacity(kg("0"), kg("0.001"), "2024-12")
    assert finding is not None and finding.details["capacity_kg_per_month"] == "0"


# --- claims and custodians ---------------------------------------------------------------------------------------


def test_a_suspended_claim_names_the_certificate_the_tier_the_day_and_the_reason():
    finding = suspended_claim("MNK-2024-0001", "good", "certificate suspended on 2024-02-01", "2024-03-01")
    assert finding.rule == Rule.suspended_claim
    assert finding.details == {"certificate_number": "MNK-2024-0001", "claimed_tier": "good",
                               "produced_on": "2024-03-01", "reason": "certificate suspended on 2024-02-01"}
    assert "MNK-2024-0001" in finding.message and "good" in finding.message and "2024-03-01" in finding.message
    assert finding.message.endswith("certificate suspended on 2024-02-01")


def test_a_suspended_claim_without_a_reason_says_no_certification_was_in_force():
    assert suspended_claim("MNK-1", "leading", None, "2024-03-01").message.endswith("no certification in force")


def test_an_unregistered_custodian_is_named():
    finding = unregistered_custodian("0190f000-0000-7000-8000-000000000001")
    assert finding.rule == Rule.unregistered_custodian
    assert finding.details == {"to_organization_id": "0190f000-0000-7000-8000-000000000001"}
    assert "0190f000-0000-7000-8000-000000000001" in finding.message
