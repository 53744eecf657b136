"""Money is exact: Decimal yuan, rounded half up once at a named step, never float."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.domain import money
from desktop_app.domain.money import MoneyError, parse_amount, parse_ratio, percent, round_fen


def test_round_half_up_not_half_even():
    assert round_fen(Decimal("6.565"), "fund") == Decimal("6.57")
    assert round_fen(Decimal("0.005"), "fund") == Decimal("0.01")
    assert round_fen(Decimal("2.675"), "item_selfpay") == Decimal("2.68")


def test_rounding_needs_a_named_step():
    with pytest.raises(ValueError):
        round_fen(Decimal("1.234"), "somewhere")


@pytest.mark.parametrize("value", [1.5, True, None, "1e400x", "NaN", "Infinity", "-0.01", "0.001"])
def test_bad_amounts(value):
    with pytest.raises(MoneyError):
        parse_amount(value)


def test_good_amounts():
    assert parse_amount("12") == Decimal("12.00")
    assert parse_amount(7) == Decimal("7.00")
    assert parse_amount(" 0.10 ") == Decimal("0.10")


@pytest.mark.parametrize("value", ["1.01", "-0.1", 0.5])
def test_bad_ratios(value):
    with pytest.raises(MoneyError):
        parse_ratio(value)


@given(st.lists(st.sampled_from(["0", "-0", "0.00", "-0.00", "0.55", "0.550", "1", "0.333", "-0.5"]), max_size=8))
def test_a_percentage_is_the_same_text_from_the_cache_as_worked_out(texts):
    """``percent`` keeps its texts in a cache keyed by value; -0 equals 0 there, so the sign is part of the key."""
    for text in texts:
        value = Decimal(text)
        assert percent(value) == money._percent.__wrapped__(value, value.is_signed())
    assert percent(Decimal("-0")) == "-0%" and percent(Decimal("0")) == "0%"
