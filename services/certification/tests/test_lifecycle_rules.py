"""The certification lifecycle, finding deadlines and member sanctions as plain rules, with hand-worked dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from minka_certification.certifications.lifecycle import (
    CertificationStatus,
    Decision,
    OpenFinding,
    Severity,
    add_months,
    certificate_validity,
    decision_target,
    default_due_on,
    due_transition,
    surveillance_dates,
)
from minka_certification.inspections.rules import Sanction, sanction_in_force
from minka_common.errors import Conflict

S = CertificationStatus


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# ------------------------------------------------------------------ decisions


@pytest.mark.parametrize(
    ("decision", "current", "target"),
    [
        (Decision.certify, S.audit_scheduled, S.certified),
        (Decision.certify, S.certified, S.certified),  # renewal
        (Decision.suspend, S.certified, S.suspended),
        (Decision.reinstate, S.suspended, S.certified),
        (Decision.withdraw, S.applied, S.withdrawn),
        (Decision.withdraw, S.audit_scheduled, S.withdrawn),
        (Decision.withdraw, S.certified, S.withdrawn),
        (Decision.withdraw, S.suspended, S.withdrawn),
    ],
)
def test_a_legal_decision_leads_to_its_status(decision, current, target):
    assert decision_target(decision, current) == target


@pytest.mark.parametrize(
    ("decision", "current"),
    [
        (Decision.certify, S.applied),  # no audit yet
        (Decision.certify, S.suspended),
        (Decision.certify, S.withdrawn),
        (Decision.suspend, S.suspended),
        (Decision.suspend, S.applied),
        (Decision.reinstate, S.certified),
        (Decision.reinstate, S.withdrawn),
        (Decision.withdraw, S.withdrawn),
        (Decision.withdraw, S.expired),
    ],
)
def test_an_illegal_decision_is_a_conflict(decision, current):
    with pytest.raises(Conflict) as raised:
        decision_target(decision, current)
    assert raised.value.status == 409


# ------------------------------------------------------------------ dates


def test_a_minor_finding_is_due_in_twelve_months():
    assert default_due_on(Severity.minor, date(2026, 1, 31)) == date(2027, 1, 31)


def test_a_major_finding_is_due_in_ninety_days():
    # 2026-11-21 + 9 days → 11-30, + 31 → 12-31, + 31 → 2027-01-31, + 19 → 2027-02-19 (9+31+31+19 = 90)
    assert default_due_on(Severity.major, date(2026, 11, 21)) == date(2027, 2, 19)


def test_a_critical_finding_is_due_the_same_day():
    assert default_due_on(Severity.critical, date(2026, 11, 21)) == date(2026, 11, 21)


def test_add_months_clamps_to_the_end_of_a_short_month():
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)


def test_add_months_lands_on_the_leap_day():
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)


def test_add_months_crosses_years_both_ways():
    assert add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)
    assert add_months(date(2026, 1, 15), -2) == date(2025, 11, 15)


def test_a_certificate_is_valid_three_years_minus_a_day():
    assert certificate_validity(date(2026, 7, 15)) == (date(2026, 7, 15), date(2029, 7, 14))
    assert certificate_validity(date(2026, 3, 1)) == (date(2026, 3, 1), date(2029, 2, 28))


def test_surveillance_audits_fall_on_the_first_and_second_anniversaries():
    assert surveillance_dates(date(2026, 7, 15)) == [date(2027, 7, 15), date(2028, 7, 15)]


# ------------------------------------------------------------------ transitions by the clock

MAJOR_DUE_JAN_10 = OpenFinding("P1.1.1", Severity.major, utc(2026, 10, 12), date(2027, 1, 10))
CERTIFIED_SINCE = utc(2026, 6, 1)
VALID_TO = date(2029, 5, 31)


def test_a_major_finding_does_not_suspend_on_its_deadline_day():
    assert due_transition(S.certified, CERTIFIED_SINCE, VALID_TO, [MAJOR_DUE_JAN_10], utc(2027, 1, 10, 23, 59)) is None


def test_an_overdue_major_finding_suspends_from_the_day_after_the_deadline():
    transition = due_transition(S.certified, CERTIFIED_SINCE, VALID_TO, [MAJOR_DUE_JAN_10], utc(2027, 1, 11))
    assert (transition.to, transition.at) == (S.suspended, utc(2027, 1, 11))


def test_a_late_check_records_the_suspension_at_the_deadline_plus_one_day():
    transition = due_transition(S.certified, CERTIFIED_SINCE, VALID_TO, [MAJOR_DUE_JAN_10], utc(2027, 5, 3, 14, 0))
    assert (transition.to, transition.at) == (S.suspended, utc(2027, 1, 11))


def test_a_critical_finding_suspends_when_it_is_opened():
    critical = OpenFinding("P1.1.1", Severity.critical, utc(2026, 9, 2, 10, 30), date(2026, 9, 2))
    transition = due_transition(S.certified, CERTIFIED_SINCE, VALID_TO, [critical], utc(2026, 9, 2, 10, 31))
    assert (transition.to, transition.at) == (S.suspended, utc(2026, 9, 2, 10, 30))


def test_a_finding_older_than_a_reinstatement_suspends_from_the_reinstatement():
    critical = OpenFinding("P1.1.1", Severity.critical, utc(2026, 9, 2), date(2026, 9, 2))
    reinstated = utc(2026, 10, 1, 8, 0)
    transition = due_transition(S.certified, reinstated, VALID_TO, [critical], utc(2026, 10, 2))
    assert transition.at == reinstated


def test_a_minor_finding_never_suspends():
    minor = OpenFinding("P1.1.1", Severity.minor, utc(2026, 6, 2), date(2027, 6, 2))
    assert due_transition(S.certified, CERTIFIED_SINCE, VALID_TO, [minor], utc(2028, 1, 1)) is None


def test_a_suspension_becomes_a_withdrawal_after_six_months_at_the_same_time_of_day():
    # suspended 2027-01-11 09:30 → withdrawn 2027-07-11 09:30, not a minute earlier
    since = utc(2027, 1, 11, 9, 30)
    assert due_transition(S.suspended, since, VALID_TO, [], utc(2027, 7, 11, 9, 29)) is None
    transition = due_transition(S.suspended, since, VALID_TO, [], utc(2027, 9, 1))
    assert (transition.to, transition.at) == (S.withdrawn, utc(2027, 7, 11, 9, 30))


def test_a_suspension_from_midnight_is_withdrawn_at_midnight_six_months_later():
    transition = due_transition(S.suspended, utc(2027, 1, 11), VALID_TO, [], utc(2027, 7, 11))
    assert (transition.to, transition.at) == (S.withdrawn, utc(2027, 7, 11))


def test_a_certificate_expires_the_day_after_valid_to():
    transition = due_transition(S.certified, CERTIFIED_SINCE, date(2029, 5, 31), [], utc(2029, 6, 1))
    assert (transition.to, transition.at) == (S.expired, utc(2029, 6, 1))
    assert due_transition(S.certified, CERTIFIED_SINCE, date(2029, 5, 31), [], utc(2029, 5, 31, 23, 59)) is None


def test_expiry_wins_when_it_comes_before_an_overdue_major_finding():
    # valid to 2027-01-05 → expired 2027-01-06, before the suspension of 2027-01-11
    transition = due_transition(S.certified, CERTIFIED_SINCE, date(2027, 1, 5), [MAJOR_DUE_JAN_10], utc(2027, 3, 1))
    assert (transition.to, transition.at) == (S.expired, utc(2027, 1, 6))


def test_the_overdue_major_finding_wins_when_it_comes_before_expiry():
    # suspended 2027-01-11, expired only on 2027-01-21
    transition = due_transition(S.certified, CERTIFIED_SINCE, date(2027, 1, 20), [MAJOR_DUE_JAN_10], utc(2027, 3, 1))
    assert (transition.to, transition.at) == (S.suspended, utc(2027, 1, 11))


def test_a_suspended_certificate_expires_before_it_would_be_withdrawn():
    # suspended 2027-01-11 (withdrawal 2027-07-11) but valid only to 2027-03-31 → expired 2027-04-01
    transition = due_transition(S.suspended, utc(2027, 1, 11), date(2027, 3, 31), [], utc(2027, 8, 1))
    assert (transition.to, transition.at) == (S.expired, utc(2027, 4, 1))


def test_nothing_happens_by_the_clock_before_certification():
    critical = OpenFinding("P1.1.1", Severity.critical, utc(2026, 5, 1), date(2026, 5, 1))
    assert due_transition(S.audit_scheduled, utc(2026, 4, 1), None, [critical], utc(2027, 1, 1)) is None


# ------------------------------------------------------------------ member sanctions


@dataclass(frozen=True)
class Record:
    inspected_on: date
    sanction: str | None = None
    sanction_until: date | None = None
    lifts_sanction: bool = False


def test_a_warning_does_not_take_a_member_out():
    assert sanction_in_force([Record(date(2026, 3, 1), Sanction.warning)], date(2026, 3, 2)) is None


def test_a_suspension_lasts_until_its_end_date_inclusive():
    records = [Record(date(2026, 3, 1), Sanction.suspension, date(2026, 6, 30))]
    assert sanction_in_force(records, date(2026, 3, 1)) == Sanction.suspension
    assert sanction_in_force(records, date(2026, 6, 30)) == Sanction.suspension
    assert sanction_in_force(records, date(2026, 7, 1)) is None


def test_a_suspension_without_end_date_lasts_until_lifted():
    records = [Record(date(2026, 3, 1), Sanction.suspension), Record(date(2026, 9, 1), lifts_sanction=True)]
    assert sanction_in_force(records, date(2026, 8, 31)) == Sanction.suspension
    assert sanction_in_force(records, date(2026, 9, 1)) is None


def test_a_later_inspection_lifts_a_suspension_before_its_end_date():
    records = [Record(date(2026, 3, 1), Sanction.suspension, date(2026, 12, 31)),
               Record(date(2026, 5, 10), lifts_sanction=True)]
    assert sanction_in_force(records, date(2026, 5, 9)) == Sanction.suspension
    assert sanction_in_force(records, date(2026, 5, 10)) is None


def test_a_later_inspection_that_does_not_lift_leaves_the_suspension_in_force():
    records = [Record(date(2026, 3, 1), Sanction.suspension, date(2026, 12, 31)), Record(date(2026, 5, 10))]
    assert sanction_in_force(records, date(2026, 6, 1)) == Sanction.suspension


def test_an_exclusion_is_final_even_if_lifted_later():
    records = [Record(date(2026, 3, 1), Sanction.exclusion), Record(date(2026, 5, 10), lifts_sanction=True)]
    assert sanction_in_force(records, date(2030, 1, 1)) == Sanction.exclusion


def test_records_after_the_date_are_ignored():
    records = [Record(date(2026, 3, 1), Sanction.suspension), Record(date(2026, 5, 10), Sanction.exclusion)]
    assert sanction_in_force(records, date(2026, 2, 28)) is None
    assert sanction_in_force(records, date(2026, 5, 9)) == Sanction.suspension
    assert sanction_in_force(records, date(2026, 5, 10)) == Sanction.exclusion


def test_a_member_never_inspected_has_no_sanction():
    assert sanction_in_force([], date(2026, 1, 1)) is None
