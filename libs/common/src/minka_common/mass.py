"""Masses as exact decimals: entered in g, kg, t or troy ounces, stored and shown in kilograms.

A mass is never a float. Conversions are exact (a troy ounce is 31.1034768 g by
definition); a value more precise than the stored scale is refused rather than
rounded, so what was weighed is what is recorded.
"""

from __future__ import annotations

from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow, localcontext
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from minka_common.types import decimal_string

MASS_SCALE = 16
"""Decimal places of kilograms kept: 1e-16 kg, so six decimals of a troy ounce are still exact."""
MASS_PRECISION = 38
QUANTUM = Decimal(1).scaleb(-MASS_SCALE)
WORKING_PRECISION = 80
"""Digits for arithmetic on masses: Python's default of 28 would round a 38-digit mass."""
MAX_MASS_KG = Decimal(10) ** 9
"""No lot weighs more than a million tonnes. The bound also keeps every sum of up to 500 masses within
28 significant digits, so the default decimal context adds and subtracts masses exactly."""


class MassUnit(StrEnum):
    g = "g"
    kg = "kg"
    t = "t"
    oz_t = "oz_t"


KILOGRAMS_PER_UNIT = {
    MassUnit.g: Decimal("0.001"),
    MassUnit.kg: Decimal(1),
    MassUnit.t: Decimal(1000),
    MassUnit.oz_t: Decimal("0.0311034768"),
}


def _exact_decimal(value: object) -> object:
    """Accepts decimal strings and integers; refuses floats, whose binary value is not what was typed."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError("give the value as a decimal string, e.g. \"12.5\"")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
        if not parsed.is_finite():
            raise ValueError("must be a finite number")
        return parsed
    return value


ExactDecimal = Annotated[Decimal, BeforeValidator(_exact_decimal)]


_CONVERSION = Context(prec=WORKING_PRECISION, traps=[Inexact, InvalidOperation, Overflow])
"""Multiplies without rounding: too many digits, or an exponent out of range (1E-999999999 would round to 0,
1E+999999999 overflow), raises instead."""


def to_kg(value: Decimal, unit: MassUnit) -> Decimal:
    """The exact mass in kilograms; ValueError when it cannot be stored exactly."""
    try:
        kilograms = _CONVERSION.multiply(value, KILOGRAMS_PER_UNIT[unit])
    except ArithmeticError:
        raise ValueError("too large or too precise to be recorded exactly") from None
    with localcontext() as context:
        context.prec = WORKING_PRECISION
        if abs(kilograms) > MAX_MASS_KG:  # before quantizing, which cannot give a value this large its 16 decimals
            raise ValueError(f"larger than the {MAX_MASS_KG.to_integral_value()} kg that can be recorded")
        if kilograms != kilograms.quantize(QUANTUM):
            raise ValueError(f"more precise than the {format(QUANTUM, 'f')} kg that is recorded")
        return kilograms.quantize(QUANTUM)


def format_kg(kilograms: Decimal) -> str:
    """A mass in kilograms as the API shows it: ``Decimal('12.5000')`` → ``"12.5"``."""
    return decimal_string(kilograms)


class Mass(BaseModel):
    """A mass as entered: ``{"value": "12.5", "unit": "g"}``; ``kg`` is its exact value in kilograms."""

    model_config = ConfigDict(extra="forbid")

    value: ExactDecimal = Field(description="a decimal string (or integer); floats are refused")
    unit: MassUnit

    @field_validator("value")
    @classmethod
    def _not_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("a mass cannot be negative")
        return value

    @model_validator(mode="after")
    def _storable(self) -> Mass:
        to_kg(self.value, self.unit)
        return self

    @property
    def kg(self) -> Decimal:
        return to_kg(self.value, self.unit)


class PositiveMass(Mass):
    @field_validator("value")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("must be more than zero")
        return value
