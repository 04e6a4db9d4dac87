from datetime import date

import pytest

from minka_registry.miners.rules import MINIMUM_AGE_YEARS, Gender, age_on, under_age_reason


def test_minimum_age_is_18():
    assert MINIMUM_AGE_YEARS == 18


def test_gender_values():
    assert [g.value for g in Gender] == ["female", "male", "other", "undisclosed"]
    assert Gender("female") is Gender.FEMALE
    assert Gender.MALE == "male"


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(1990, 6, 15), 0),
        (date(2008, 6, 14), 17),
        (date(2008, 6, 15), 18),
        (date(2008, 6, 16), 18),
        (date(2009, 6, 14), 18),
        (date(2009, 6, 15), 19),
    ],
)
def test_age_on_around_birthday(on, expected):
    assert age_on(date(1990, 6, 15), on) == expected


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        # Non-leap year: the birthday is 1 March.
        (date(2026, 2, 28), 17),
        (date(2026, 3, 1), 18),
        # Leap year: the birthday is 29 February itself.
        (date(2028, 2, 28), 19),
        (date(2028, 2, 29), 20),
        (date(2028, 3, 1), 20),
    ],
)
def test_age_on_29_february(on, expected):
    assert age_on(date(2008, 2, 29), on) == expected


def test_age_on_rejects_date_before_birth():
    with pytest.raises(ValueError):
        age_on(date(2000, 1, 2), date(2000, 1, 1))


def test_under_age_17_years_364_days_is_refused():
    registered_on = date(2026, 11, 21)
    birth = date(2008, 11, 22)  # 18th birthday is tomorrow
    assert (registered_on - date(2025, 11, 22)).days == 364
    assert under_age_reason(birth, registered_on) == (
        "miner is 17 on 2026-11-21; Minka refuses workers under 18 (child labour)"
    )


def test_exactly_18_is_accepted():
    assert under_age_reason(date(2008, 11, 21), date(2026, 11, 21)) is None


def test_well_over_18_is_accepted():
    assert under_age_reason(date(1970, 1, 1), date(2026, 11, 21)) is None


def test_much_younger_is_refused_with_age():
    reason = under_age_reason(date(2010, 5, 1), date(2026, 11, 21))
    assert reason is not None
    assert reason.startswith("miner is 16 on 2026-11-21;")


def test_born_on_29_february_becomes_eligible_on_1_march():
    birth = date(2008, 2, 29)
    assert under_age_reason(birth, date(2026, 2, 28)) is not None
    assert under_age_reason(birth, date(2026, 3, 1)) is None


def test_born_today_is_refused_as_under_age():
    reason = under_age_reason(date(2026, 11, 21), date(2026, 11, 21))
    assert reason is not None
    assert reason.startswith("miner is 0 on")


def test_birth_date_in_the_future_is_refused():
    assert under_age_reason(date(2026, 11, 22), date(2026, 11, 21)) == "birth date is in the future"
