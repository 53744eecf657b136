"""Money is exact: Decimal yuan, rounded half up once at a named step, never float."""

from decimal import Decimal

import pytest

from desktop_app.domain.money import MoneyError, parse_amount, parse_ratio, round_fen


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
