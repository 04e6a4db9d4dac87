"""The audit's member sample: reproducible by anyone who has the seed and the population.

Size: ⌈√n × risk factor⌉ (every member when n ≤ 10), at most n. High-risk members are
always in; the rest are ranked by SHA-256 of ``"<seed>:<member id>"`` and the lowest
ranks fill the remaining places. A hash ranking (unlike a language's random number
generator) can be re-computed with any tool, so the draw can be checked independently.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

MIN_RISK_FACTOR, MAX_RISK_FACTOR = 1, 4
SMALL_GROUP = 10
NEAR_FOREST_KM = 5.0


class HighRiskReason(StrEnum):
    open_finding = "open_finding"
    joined_since_last_audit = "joined_since_last_audit"
    site_near_forest = "site_near_forest"


def sample_size(population: int, risk_factor: int) -> int:
    if not MIN_RISK_FACTOR <= risk_factor <= MAX_RISK_FACTOR:
        raise ValueError(f"risk factor must be {MIN_RISK_FACTOR}–{MAX_RISK_FACTOR}, not {risk_factor}")
    if population <= SMALL_GROUP:
        return population
    # ⌈√n × r⌉ = ⌈√(n r²)⌉, computed in integers so perfect squares are exact.
    return min(population, math.isqrt(population * risk_factor**2 - 1) + 1)


def new_seed() -> str:
    return secrets.token_hex(16)


def draw_rank(seed: str, member_id: uuid.UUID) -> str:
    return hashlib.sha256(f"{seed}:{member_id}".encode()).hexdigest()


def draw_sample(
    population: Sequence[uuid.UUID], high_risk: Collection[uuid.UUID], risk_factor: int, seed: str
) -> list[uuid.UUID]:
    """The sampled member ids, sorted; every high-risk member of the population is included."""
    size = sample_size(len(population), risk_factor)
    chosen = [member for member in population if member in high_risk]
    others = sorted((member for member in population if member not in high_risk), key=lambda m: draw_rank(seed, m))
    chosen += others[: max(0, size - len(chosen))]
    return sorted(chosen)


@dataclass(frozen=True)
class Member:
    id: uuid.UUID
    joined_on: date
    site_id: uuid.UUID | None = None


def high_risk_members(
    members: Iterable[Member],
    site_forest_km: Mapping[uuid.UUID, float | None],
    with_open_findings: Collection[uuid.UUID],
    last_audit_on: date | None,
) -> dict[uuid.UUID, list[HighRiskReason]]:
    """Members who must be in the sample, each with the reasons why."""
    high_risk: dict[uuid.UUID, list[HighRiskReason]] = {}
    for member in members:
        reasons = []
        if member.id in with_open_findings:
            reasons.append(HighRiskReason.open_finding)
        if last_audit_on is not None and member.joined_on > last_audit_on:
            reasons.append(HighRiskReason.joined_since_last_audit)
        distance = site_forest_km.get(member.site_id) if member.site_id is not None else None
        if distance is not None and distance <= NEAR_FOREST_KM:
            reasons.append(HighRiskReason.site_near_forest)
        if reasons:
            high_risk[member.id] = reasons
    return high_risk
