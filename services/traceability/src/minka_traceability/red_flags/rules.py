"""When a red flag is due: plain functions over numbers, no database.

Each returns the flag's message and the numbers behind it, or None when all is well.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Any

from minka_common.mass import format_kg


class Rule(StrEnum):
    mass_discrepancy = "mass_discrepancy"
    above_capacity = "above_capacity"
    suspended_claim = "suspended_claim"
    unregistered_custodian = "unregistered_custodian"


@dataclass(frozen=True)
class Finding:
    rule: Rule
    message: str
    details: dict[str, Any]


def mass_discrepancy(dispatched_kg: Decimal, received_kg: Decimal, tolerance_percent: Decimal) -> Finding | None:
    """A receipt that differs from the dispatch by more than the tolerance, either way."""
    with localcontext() as context:
        context.prec = 60
        difference = received_kg - dispatched_kg
        allowed = dispatched_kg * tolerance_percent / 100
    if abs(difference) <= allowed:
        return None
    return Finding(
        Rule.mass_discrepancy,
        f"received {format_kg(received_kg)} kg of {format_kg(dispatched_kg)} kg dispatched "
        f"({'+' if difference > 0 else '-'}{format_kg(abs(difference))} kg, tolerance {tolerance_percent} %)",
        {"dispatched_kg": format_kg(dispatched_kg), "received_kg": format_kg(received_kg),
         "difference_kg": format_kg(difference), "tolerance_percent": str(tolerance_percent)},
    )


def above_capacity(capacity_kg_per_month: Decimal | None, month_total_kg: Decimal, month: str) -> Finding | None:
    """Production recorded at a site in one calendar month above the capacity the site declared."""
    if capacity_kg_per_month is None or month_total_kg <= capacity_kg_per_month:
        return None
    return Finding(
        Rule.above_capacity,
        f"{format_kg(month_total_kg)} kg recorded at the site in {month}, above its declared capacity of "
        f"{format_kg(capacity_kg_per_month)} kg per month",
        {"month": month, "recorded_kg": format_kg(month_total_kg), "capacity_kg_per_month": format_kg(capacity_kg_per_month)},
    )


def suspended_claim(certificate_number: str | None, tier: str | None, reason: str | None, on: str) -> Finding:
    """A lot that carries a certified claim although certification, as recorded now, did not cover its
    producer on the day of production (a suspension or sanction recorded after the lot, effective before)."""
    return Finding(
        Rule.suspended_claim,
        f"the lot claims certificate {certificate_number} at tier {tier}, but its producer was not covered on {on}: "
        f"{reason or 'no certification in force'}",
        {"certificate_number": certificate_number, "claimed_tier": tier, "produced_on": on, "reason": reason},
    )


def unregistered_custodian(organization_id: str) -> Finding:
    return Finding(
        Rule.unregistered_custodian,
        f"custody passed to {organization_id}, an organisation the registry does not know",
        {"to_organization_id": organization_id},
    )
