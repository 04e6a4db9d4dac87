"""Business rules about individual miners (no I/O, no framework).

Minka refuses to register workers under 18: child labour is one of the
worst forms of abuse in artisanal and small-scale mining, and a certified
group must be able to show that none of its registered miners is a child.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

__all__ = ["MINIMUM_AGE_YEARS", "Gender", "age_on", "under_age_reason"]

MINIMUM_AGE_YEARS = 18


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNDISCLOSED = "undisclosed"


def age_on(birth_date: date, on: date) -> int:
    """Age in whole years of a person born on ``birth_date``, on the day ``on``.

    The birthday is reached at the start of the anniversary day. A person
    born on 29 February has their birthday on 29 February in leap years and
    on **1 March** in non-leap years (they are not a year older until
    28 February has fully passed). So someone born 2008-02-29 is 17 on
    2026-02-28 and 18 on 2026-03-01.

    Raises ``ValueError`` if ``on`` is before ``birth_date``.
    """
    if on < birth_date:
        raise ValueError(f"date {on.isoformat()} is before birth date {birth_date.isoformat()}")
    years = on.year - birth_date.year
    # Comparing (month, day) tuples gives the 1 March rule for 29 February
    # births for free: in a non-leap year (2, 28) < (2, 29) <= (3, 1).
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def under_age_reason(birth_date: date, registered_on: date) -> str | None:
    """Why a miner born on ``birth_date`` may not be registered on ``registered_on``.

    Returns ``None`` when the miner is at least ``MINIMUM_AGE_YEARS`` old on
    the registration date, otherwise a sentence suitable for showing to the
    person doing the registration.
    """
    if birth_date > registered_on:
        return "birth date is in the future"
    age = age_on(birth_date, registered_on)
    if age >= MINIMUM_AGE_YEARS:
        return None
    return (
        f"miner is {age} on {registered_on.isoformat()}; "
        f"Minka refuses workers under {MINIMUM_AGE_YEARS} (child labour)"
    )
