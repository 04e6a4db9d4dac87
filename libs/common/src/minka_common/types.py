"""Shared value types for request and response models."""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from typing import Annotated, ClassVar

import pycountry
from pydantic import AfterValidator, BaseModel, PlainSerializer, StringConstraints, ValidationInfo, field_validator

_UNSTORABLE_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_UNSTORABLE_IN_LINE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def storable_text(value: str) -> str:
    """Refuses control characters other than tab and line breaks, and lone surrogates
    (PostgreSQL cannot store NUL; surrogates are not UTF-8)."""
    if _UNSTORABLE_IN_TEXT.search(value):
        raise ValueError("contains control characters or invalid Unicode")
    return value


def storable_line(value: str) -> str:
    """As ``storable_text``, for one-line values (names, codes): no tab or line break either."""
    if _UNSTORABLE_IN_LINE.search(value):
        raise ValueError("contains control characters or invalid Unicode")
    return value


def decimal_string(value: Decimal) -> str:
    """Exact, without exponent or trailing zeros: ``Decimal("12.500")`` → ``"12.5"``, ``Decimal("1E+2")`` → ``"100"``."""
    with localcontext() as context:
        context.prec = 80  # the default 28 digits would round a long value
        normalised = value.normalize()
    return format(normalised if normalised != 0 else Decimal(0), "f")


DecimalString = Annotated[Decimal, PlainSerializer(decimal_string, return_type=str, when_used="json")]
"""A decimal sent as an exact string in JSON."""

Text = Annotated[str, AfterValidator(storable_text)]
Line = Annotated[str, AfterValidator(storable_line)]


def _country_code(value: str) -> str:
    code = value.upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


CountryCode = Annotated[
    str,
    StringConstraints(min_length=2, max_length=2, strip_whitespace=True, pattern=r"^[A-Za-z]{2}$"),
    AfterValidator(_country_code),
]
"""ISO 3166-1 alpha-2, normalised to upper case."""


class PatchModel(BaseModel):
    """Body of a PATCH: omitted fields stay as they are; null only where a field may really be empty."""

    nullable_fields: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name not in cls.nullable_fields:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value
