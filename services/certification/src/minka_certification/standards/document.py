"""The standard document (API.md, "Standard document") and the rules that make one well formed.

Standards are data: principles (performance areas) → criteria → indicators. A
bolt-on names its base; its indicator codes must not repeat the base's, so one
code names one indicator within a certification.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

from minka_common.types import Text

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$"
SUPPORTED_CONDITIONS = frozenset({"forest_distance_km_lte"})


class Level(StrEnum):
    foundational = "foundational"
    good = "good"
    leading = "leading"

    @property
    def rank(self) -> int:
        return LEVELS.index(self)


LEVELS: list[Level] = [Level.foundational, Level.good, Level.leading]


class Scope(StrEnum):
    group = "group"
    member = "member"
    site = "site"


class StandardKind(StrEnum):
    base = "base"
    bolt_on = "bolt_on"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StandardRef(StrictModel):
    code: str = Field(pattern=CODE_PATTERN)
    version: str = Field(pattern=CODE_PATTERN)

    def __str__(self) -> str:
        return f"{self.code} {self.version}"


class Indicator(StrictModel):
    code: str = Field(pattern=CODE_PATTERN)
    text: Text = Field(min_length=1, max_length=2000)
    level: Level
    scope: Scope
    applies_if: dict[str, FiniteFloat] | None = Field(
        None, description='applicability condition, e.g. {"forest_distance_km_lte": 5}'
    )
    due_year: int | None = Field(
        None, ge=0, le=10, description="0 = required at entry; n = due n years after first certification"
    )
    guidance: Text | None = Field(None, max_length=2000, description="the action that meets the indicator")


class Criterion(StrictModel):
    code: str = Field(pattern=CODE_PATTERN)
    title: Text = Field(min_length=1, max_length=500)
    indicators: list[Indicator] = Field(min_length=1)


class Principle(StrictModel):
    code: str = Field(pattern=CODE_PATTERN)
    title: Text = Field(min_length=1, max_length=500)
    criteria: list[Criterion] = Field(min_length=1)


class ClaimRule(StrictModel):
    """A group may claim ``level`` when at least ``min_share`` of its applicable principles reach it
    and every other applicable principle reaches ``floor``."""

    level: Level
    min_share: float = Field(gt=0, le=1)
    floor: Level


class Equivalence(StrictModel):
    indicator: Text = Field(max_length=50, description="an indicator of this standard")
    standard: StandardRef
    equivalent: Text = Field(max_length=50, description="the comparable indicator of the other standard")


class StandardDocument(StrictModel):
    code: str = Field(pattern=CODE_PATTERN)
    version: str = Field(pattern=CODE_PATTERN)
    kind: StandardKind
    base: StandardRef | None = None
    title: Text = Field(min_length=1, max_length=500)
    description: Text | None = Field(None, max_length=5000)
    claims: list[Annotated[Text, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, description='labels a certification under this standard carries, e.g. "forest_smart"'
    )
    claim_rule: ClaimRule | None = None
    principles: list[Principle] = Field(min_length=1)
    equivalences: list[Equivalence] = Field(default_factory=list)

    @property
    def ref(self) -> StandardRef:
        return StandardRef(code=self.code, version=self.version)

    def indicators(self) -> Iterator[tuple[Principle, Indicator]]:
        for principle in self.principles:
            for criterion in principle.criteria:
                for indicator in criterion.indicators:
                    yield principle, indicator

    def indicator_codes(self) -> set[str]:
        return {indicator.code for _, indicator in self.indicators()}


@dataclass(frozen=True)
class Problem:
    field: str
    reason: str


def document_problems(
    document: StandardDocument, base: StandardDocument | None, known: dict[StandardRef, StandardDocument]
) -> list[Problem]:
    """Every reason the document cannot be published; ``base`` is the published base a bolt-on names, if any,
    and ``known`` the published standards that equivalences may point to."""
    return [
        *_duplicate_codes(document),
        *_indicator_problems(document),
        *_kind_problems(document, base),
        *_claim_rule_problems(document),
        *_equivalence_problems(document, known),
    ]


def _duplicate_codes(document: StandardDocument) -> Iterator[Problem]:
    codes = [p.code for p in document.principles]
    codes += [c.code for p in document.principles for c in p.criteria]
    codes += [i.code for _, i in document.indicators()]
    for code, count in Counter(codes).items():
        if count > 1:
            yield Problem("principles", f"code {code} is used {count} times")


def _indexed_indicators(document: StandardDocument) -> Iterator[tuple[str, Indicator]]:
    for p_index, principle in enumerate(document.principles):
        for c_index, criterion in enumerate(principle.criteria):
            for i_index, indicator in enumerate(criterion.indicators):
                yield f"principles[{p_index}].criteria[{c_index}].indicators[{i_index}]", indicator


def _indicator_problems(document: StandardDocument) -> Iterator[Problem]:
    for path, indicator in _indexed_indicators(document):
        if indicator.due_year and indicator.level != Level.foundational:
            yield Problem(f"{path}.due_year", "only foundational indicators can be progress requirements with a due year")
        for condition in sorted((indicator.applies_if or {}).keys() - SUPPORTED_CONDITIONS):
            supported = ", ".join(sorted(SUPPORTED_CONDITIONS))
            yield Problem(f"{path}.applies_if.{condition}", f"unknown condition; supported: {supported}")


def _kind_problems(document: StandardDocument, base: StandardDocument | None) -> Iterator[Problem]:
    if document.kind == StandardKind.base:
        if document.base is not None:
            yield Problem("base", "a base standard does not name a base")
        return
    if document.base is None:
        yield Problem("base", "a bolt-on must name the base standard it attaches to")
        return
    if base is None:
        yield Problem("base", f"base standard {document.base} is not in the catalogue")
        return
    if base.kind != StandardKind.base:
        yield Problem("base", f"{document.base} is itself a bolt-on")
    for code in sorted(document.indicator_codes() & base.indicator_codes()):
        yield Problem("principles", f"indicator code {code} is already used by the base standard {document.base}")


def _claim_rule_problems(document: StandardDocument) -> Iterator[Problem]:
    rule = document.claim_rule
    if rule is not None and rule.floor.rank >= rule.level.rank:
        yield Problem("claim_rule.floor", "the floor must be a lower level than the level claimed")


def _equivalence_problems(document: StandardDocument, known: dict[StandardRef, StandardDocument]) -> Iterator[Problem]:
    own = document.indicator_codes()
    for index, equivalence in enumerate(document.equivalences):
        if equivalence.indicator not in own:
            yield Problem(f"equivalences[{index}].indicator", f"{equivalence.indicator} is not an indicator of this standard")
        other = known.get(equivalence.standard)
        if other is None:
            yield Problem(f"equivalences[{index}].standard", f"{equivalence.standard} is not in the catalogue")
        elif equivalence.equivalent not in other.indicator_codes():
            yield Problem(
                f"equivalences[{index}].equivalent", f"{equivalence.equivalent} is not an indicator of {equivalence.standard}"
            )
