"""What a lot may claim, and how custody events carry claims from inputs to outputs.

Plain functions over values, no database. A lot's claims are its certified tier,
the standards behind it, forest-smart and mercury-free, and its *certified mass*:
all of its mass, or none, under segregation; a share by mass under mass balance.
Certified mass is never created: splitting and processing pass it on rounded down
to the recorded scale, and what rounding drops is lost, not invented.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal, localcontext

from minka_common.certification_client import CoverageStatus, StandardRef
from minka_common.mass import QUANTUM

TIERS = ("foundational", "good", "leading")


@dataclass(frozen=True)
class Claims:
    tier: str | None = None
    standards: frozenset[StandardRef] = field(default_factory=frozenset)
    forest_smart: bool = False
    mercury_free: bool = False
    certified_kg: Decimal = Decimal(0)

    @property
    def certified(self) -> bool:
        return self.certified_kg > 0


@dataclass(frozen=True)
class Portion:
    """A lot taking part in an event: its claims and its mass."""

    claims: Claims
    mass_kg: Decimal


NOTHING_CERTIFIED = Claims()


def origin_claims(status: CoverageStatus, mercury_free: bool, mass_kg: Decimal) -> Claims:
    """The claims of a lot at origin, from certification's answer for the producer on the day of production."""
    if not status.covered or status.tier not in TIERS or not status.standards:
        return Claims(mercury_free=mercury_free)
    return Claims(
        tier=status.tier,
        standards=frozenset(status.standards),
        forest_smart=status.forest_smart,
        mercury_free=mercury_free,
        certified_kg=mass_kg,
    )


def _uncertified(claims: Claims) -> Claims:
    return Claims(mercury_free=claims.mercury_free)


def _round_down(value: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = 80
        return value.quantize(QUANTUM, rounding=ROUND_DOWN)


def _proportion(certified_kg: Decimal, part_kg: Decimal, whole_kg: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = 80
        return _round_down(certified_kg * part_kg / whole_kg)


def inherited(parent: Portion, parts_kg: Sequence[Decimal], segregated: bool) -> list[Claims]:
    """Claims of the lots a split, a transformation or a receipt makes from ``parent``.

    Under segregation each part is as certified as its parent, whole. Under mass balance
    the certified mass is shared in proportion to the parts, never more than the parent
    had: outputs lighter than the parent (a declared loss) carry proportionally less.
    """
    claims = parent.claims
    if not claims.certified:
        return [claims for _ in parts_kg]
    if segregated:
        return [replace(claims, certified_kg=part) for part in parts_kg]
    shares = _mass_balance_shares(claims.certified_kg, parent.mass_kg, parts_kg)
    return [replace(claims, certified_kg=share) if share > 0 else _uncertified(claims) for share in shares]


def _mass_balance_shares(certified_kg: Decimal, parent_kg: Decimal, parts_kg: Sequence[Decimal]) -> list[Decimal]:
    """Each part's proportional share, rounded down; the few quanta that rounding drops from the parts' total
    go to the largest parts, so parts that together weigh what the parent did share exactly its certified mass.
    Parts heavier than the parent (a receipt weighed heavier) never carry more certified mass than it had."""
    total_kg = sum(parts_kg, Decimal(0))
    target = min(_proportion(certified_kg, total_kg, parent_kg), total_kg, certified_kg)
    shares = [_proportion(certified_kg, part, parent_kg) for part in parts_kg]
    remainder = target - sum(shares, Decimal(0))
    for index in sorted(range(len(shares)), key=lambda i: parts_kg[i], reverse=True):
        given = min(parts_kg[index] - shares[index], remainder)
        shares[index] += given
        remainder -= given
    return shares


def _lowest_tier(tiers: Sequence[str | None]) -> str | None:
    ranked = [TIERS.index(tier) for tier in tiers if tier in TIERS]
    return TIERS[min(ranked)] if ranked and len(ranked) == len(tiers) else None


def _shared_standards(portions: Sequence[Portion]) -> frozenset[StandardRef]:
    standards = [portion.claims.standards for portion in portions]
    return frozenset.intersection(*standards) if standards else frozenset()


def _combined(contributions: Sequence[Portion], mercury_free: bool, certified_kg: Decimal) -> Claims:
    """The claim that certified contributions support together: what all of them have, at the lowest tier."""
    standards = _shared_standards(contributions)
    if not contributions or not standards:
        return Claims(mercury_free=mercury_free)
    return Claims(
        tier=_lowest_tier([portion.claims.tier for portion in contributions]),
        standards=standards,
        forest_smart=all(portion.claims.forest_smart for portion in contributions),
        mercury_free=mercury_free,
        certified_kg=certified_kg,
    )


def merged_segregated(inputs: Sequence[Portion]) -> Claims:
    """A segregated merge keeps only what every input claims, at the lowest tier: one uncertified input
    (or none in common among their standards) and the whole lot is uncertified."""
    mercury_free = all(portion.claims.mercury_free for portion in inputs)
    if not all(portion.claims.certified and portion.claims.certified_kg == portion.mass_kg for portion in inputs):
        return Claims(mercury_free=mercury_free)
    return _combined(inputs, mercury_free, sum((portion.mass_kg for portion in inputs), Decimal(0)))


def merged_mass_balance(inputs: Sequence[Portion]) -> Claims:
    """A mass-balance merge carries the certified mass of its inputs as a share of the whole; the claim it
    supports is what every certified contribution has in common, at the lowest of their tiers."""
    contributions = [portion for portion in inputs if portion.claims.certified]
    certified_kg = sum((portion.claims.certified_kg for portion in contributions), Decimal(0))
    return _combined(contributions, all(portion.claims.mercury_free for portion in inputs), certified_kg)


def certified_share(claims: Claims, mass_kg: Decimal) -> Decimal:
    """The certified fraction of a lot, for display (four decimals, rounded down); the exact figure is the mass."""
    if mass_kg <= 0:
        return Decimal(0)
    with localcontext() as context:
        context.prec = 80
        return (claims.certified_kg / mass_kg).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
