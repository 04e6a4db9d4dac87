"""Shared value types for request and response models."""

from __future__ import annotations

from typing import Annotated, ClassVar

import pycountry
from pydantic import AfterValidator, BaseModel, StringConstraints, ValidationInfo, field_validator


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
