"""Shared value types for request and response models."""

from __future__ import annotations

from typing import Annotated

import pycountry
from pydantic import AfterValidator, StringConstraints


def _country_code(value: str) -> str:
    code = value.upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


CountryCode = Annotated[
    str, StringConstraints(min_length=2, max_length=2, strip_whitespace=True), AfterValidator(_country_code)
]
"""ISO 3166-1 alpha-2, normalised to upper case."""
