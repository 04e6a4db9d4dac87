"""Masses are exact: units convert without rounding, what cannot be recorded exactly is refused, the display has
neither exponent nor trailing zeros, and the database gives back exactly the decimal it was given."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pytest
from pydantic import ValidationError
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from minka_common.db import ExactDecimalColumn, create_engine_for
from minka_common.mass import MAX_MASS_KG, QUANTUM, Mass, MassUnit, PositiveMass, format_kg, to_kg
from minka_common.testing import fresh_database_url

LARGEST = "9999999999999999999999.9999999999999999"  # the column holds more than any lot may weigh


# --- conversions -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "unit", "kilograms"), [
    ("1", "kg", "1"),
    ("500", "g", "0.5"),
    ("0.0000000000001", "g", "0.0000000000000001"),
    ("2.5", "t", "2500"),
    ("1", "oz_t", "0.0311034768"),
    ("16.0754", "oz_t", "0.50000083095072"),
    ("0.000001", "oz_t", "0.0000000311034768"),
])
def test_units_convert_to_kilograms_exactly(value, unit, kilograms):
    assert Mass(value=value, unit=unit).kg == Decimal(kilograms)


def test_a_troy_ounce_is_31_1034768_grams_by_definition():
    assert to_kg(Decimal(1), MassUnit.oz_t) == Decimal("0.0311034768")
    assert to_kg(Decimal(1000), MassUnit.oz_t) == to_kg(Decimal("31.1034768"), MassUnit.kg)


def test_integers_are_accepted_as_exact_values():
    assert Mass(value=3, unit="kg").kg == Decimal(3)
    assert Mass.model_validate_json('{"value": 3, "unit": "t"}').kg == Decimal(3000)


def test_the_unit_must_be_one_of_g_kg_t_oz_t():
    assert {unit.value for unit in MassUnit} == {"g", "kg", "t", "oz_t"}
    with pytest.raises(ValidationError):
        Mass(value="1", unit="lb")


def test_fields_beyond_value_and_unit_are_refused():
    with pytest.raises(ValidationError):
        Mass.model_validate({"value": "1", "unit": "kg", "kg": "1"})


# --- refusals ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1.5, 0.1, 2.0])
def test_floats_are_refused(value):
    with pytest.raises(ValidationError, match="decimal string"):
        Mass(value=value, unit="kg")


def test_a_float_in_json_is_refused():
    with pytest.raises(ValidationError, match="decimal string"):
        Mass.model_validate_json('{"value": 0.1, "unit": "kg"}')


@pytest.mark.parametrize("value", [True, "twelve", "", "NaN", "Infinity", "-Infinity", "1,5"])
def test_what_is_not_a_finite_decimal_is_refused(value):
    with pytest.raises(ValidationError):
        Mass(value=value, unit="kg")


@pytest.mark.parametrize(("value", "unit"), [
    ("0.00000000000000001", "kg"),
    ("0.00000000000001", "g"),
    ("0.0000001", "oz_t"),
    ("0.00000000000000000001", "t"),
])
def test_a_value_more_precise_than_recorded_is_refused_not_rounded(value, unit):
    with pytest.raises(ValidationError, match="more precise"):
        Mass(value=value, unit=unit)


def test_the_largest_recordable_mass_is_a_million_tonnes():
    assert MAX_MASS_KG == Decimal("1000000000")
    assert Mass(value="1000000", unit="t").kg == MAX_MASS_KG


@pytest.mark.parametrize(("value", "unit"), [
    ("1000000000.0000000000000001", "kg"),
    ("1000001", "t"),
    ("1E+30", "g"),
    ("40000000000", "oz_t"),
])
def test_a_mass_too_large_to_record_is_refused(value, unit):
    with pytest.raises(ValidationError, match="larger than"):
        Mass(value=value, unit=unit)


@pytest.mark.parametrize("value", ["-1", "-0.0000000000000001", -3])
def test_a_negative_mass_is_refused(value):
    with pytest.raises(ValidationError, match="negative"):
        Mass(value=value, unit="kg")


def test_zero_is_a_mass_but_not_a_positive_one():
    assert Mass(value="0", unit="kg").kg == 0
    for value in ("0", "0.000", 0):
        with pytest.raises(ValidationError, match="more than zero"):
            PositiveMass(value=value, unit="g")
    assert PositiveMass(value="0.0000000000001", unit="g").kg == QUANTUM


# --- display -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kilograms", "shown"), [
    ("12.5000", "12.5"),
    ("12.5000000000000000", "12.5"),
    ("100", "100"),
    ("1E+3", "1000"),
    ("1000.0000000000000000", "1000"),
    ("0.0000000000000001", "0.0000000000000001"),
    ("1E-16", "0.0000000000000001"),
    ("0", "0"),
    ("0E-16", "0"),
    ("-0.000", "0"),
    ("-2.50", "-2.5"),
    (LARGEST, LARGEST),
    ("1234567890123456.1234567890123456", "1234567890123456.1234567890123456"),
])
def test_format_kg_has_no_exponent_and_no_trailing_zeros(kilograms, shown):
    assert format_kg(Decimal(kilograms)) == shown


# --- storage -----------------------------------------------------------------------------------------------------

STORED = ["0", "0.0000000000000001", "0.1", "12.5", "0.0311034768", "0.50000083095072",
          "1234567890123456.1234567890123456", LARGEST]


async def test_an_exact_decimal_column_gives_back_exactly_what_it_stored(tmp_path):
    metadata = MetaData()
    masses = Table("masses", metadata, Column("id", Integer, primary_key=True),
                   Column("mass_kg", ExactDecimalColumn(), nullable=True))
    engine = create_engine_for(await fresh_database_url("common_exact_decimal", tmp_path))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            rows = [{"id": index, "mass_kg": Decimal(value)} for index, value in enumerate(STORED)]
            await connection.execute(insert(masses), [*rows, {"id": len(STORED), "mass_kg": None}])
        async with engine.connect() as connection:
            stored = (await connection.execute(select(masses.c.mass_kg).order_by(masses.c.id))).scalars().all()
    finally:
        await engine.dispose()
    assert all(isinstance(value, Decimal) for value in stored[:-1])
    assert [format_kg(value) for value in stored[:-1]] == STORED
    assert stored[-1] is None


async def test_an_exact_decimal_column_refuses_a_value_it_cannot_hold_rather_than_round_it(tmp_path):
    metadata = MetaData()
    masses = Table("masses", metadata, Column("id", Integer, primary_key=True), Column("mass_kg", ExactDecimalColumn()))
    engine = create_engine_for(await fresh_database_url("common_exact_decimal_overflow", tmp_path))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        async with engine.begin() as connection:
            with pytest.raises(StatementError) as raised:
                await connection.execute(insert(masses), {"id": 1, "mass_kg": Decimal("10000000000000000000000")})
    finally:
        await engine.dispose()
    assert isinstance(raised.value.orig, InvalidOperation)
