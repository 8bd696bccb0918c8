"""The formula language of calculated channels: parsed without eval, exact coefficients."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from domain.attributes import InvalidAttributes
from domain.channel import Channel
from domain.channel_formula import ChannelFormula, FormulaError, combined_quality
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality as Q


def test_a_linear_combination_names_its_channels_with_their_coefficients() -> None:
    formula = ChannelFormula.parse("{SP-1:A+} + {SP-2:A+} - 0.5 * {SP-3:A-}")

    assert formula.coefficients == {
        "SP-1:A+": Decimal(1),
        "SP-2:A+": Decimal(1),
        "SP-3:A-": Decimal("-0.5"),
    }
    assert formula.channel_keys == ("SP-1:A+", "SP-2:A+", "SP-3:A-")


def test_coefficients_are_exact_decimals() -> None:
    formula = ChannelFormula.parse("0.1 * {A} + 0.2*{A} - {B} * 0.3")

    assert formula.coefficients == {"A": Decimal("0.3"), "B": Decimal("-0.3")}


def test_parentheses_and_constants_multiply_out() -> None:
    formula = ChannelFormula.parse("-2 * ({A} - 1.5 * ({B} + 2)) + 2 * 3 * {C} * 0.5 + 1")

    assert formula.coefficients == {"A": Decimal(-2), "B": Decimal(3), "C": Decimal(3)}
    assert formula.constant == Decimal(7)


def test_applying_a_formula_combines_the_sources_and_a_missing_source_stays_missing() -> None:
    formula = ChannelFormula.parse("{A} + {B} - 0.5 * {C}")

    values = formula.apply(
        {
            "A": np.array([1.0, 2.0, 3.0]),
            "B": np.array([0.25, np.nan, 1.0]),
            "C": np.array([2.0, 2.0, 4.0]),
        }
    )

    assert np.array_equal(values, np.array([0.25, np.nan, 2.0]), equal_nan=True)


@pytest.mark.parametrize(
    ("text", "position", "problem"),
    [
        ("", 1, "ended"),
        ("{A} +", 6, "ended"),
        ("{A} * {B}", 5, "multiplied by a constant only"),
        ("{A} / 2", 5, "unexpected '/'"),
        ("{A} + {B", 7, "not closed"),
        ("{A} + {}", 7, "empty channel key"),
        ("({A} + 1", 9, "expected ')'"),
        ("2 * 3", 1, "at least one channel"),
        ("{A} 5", 5, "unexpected '5'"),
        ("{A} + __import__('os')", 7, "not '_'"),
    ],
)
def test_a_formula_that_cannot_be_parsed_says_where(text: str, position: int, problem: str) -> None:
    with pytest.raises(FormulaError) as error:
        ChannelFormula.parse(text)

    assert error.value.position == position
    assert f"at position {position}" in str(error.value)
    assert problem in str(error.value)


def test_a_computed_interval_is_as_good_as_its_worst_source() -> None:
    first = np.array([Q.VALIDATED, Q.VALIDATED, Q.EDITED, Q.ACCEPTED, Q.RAW, Q.FAILED, Q.MISSING])
    second = np.array(
        [Q.VALIDATED, Q.ESTIMATED, Q.VALIDATED, Q.VALIDATED, Q.ESTIMATED] + [Q.VALIDATED] * 2
    )

    qualities = combined_quality([first, second])

    expected = [Q.VALIDATED, Q.ESTIMATED, Q.ESTIMATED, Q.ESTIMATED, Q.RAW, Q.MISSING, Q.MISSING]
    assert np.array_equal(qualities, np.array(expected, dtype=np.uint8))


def _calculated(formula: str) -> Channel:
    attributes = {
        "channel_key": "SP-9:NET",
        "service_point_id": "SP-9",
        "kind": "calculated",
        "unit": "kWh",
        "interval_minutes": 15,
        "formula": formula,
    }
    return Channel.register(attributes, date(2026, 1, 1), Provenance("test", "set-up", "system"))


def test_a_calculated_channel_with_an_unparseable_formula_is_refused() -> None:
    with pytest.raises(InvalidAttributes) as error:
        _calculated("{SP-1:A+} * {SP-2:A+}")

    assert "formula" in error.value.problems
    assert (
        _calculated("{SP-1:A+} - {SP-2:A-}").attributes_on(date(2026, 1, 2))["kind"] == "calculated"
    )
