"""Exact money: ``Decimal`` yuan, rounded half up to the fen only at named steps.

Every amount the engine produces is rounded exactly once, where it is created,
by :func:`round_fen` with the name of the step.  Sums and differences of amounts
that are already whole fen are exact and need no rounding.  Floats never enter:
:func:`parse_amount` refuses them.
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
ZERO = Decimal("0.00")

# The named rounding steps.  Each is the one place its amount is rounded.
STEP_ITEM_SELFPAY = "item_selfpay"  # 乙类先行自付: amount x selfpay_ratio, per item
STEP_FUND = "fund"  # 统筹基金支付: base x ratio
STEP_CAP = "cap"  # a cap derived from a published figure (Yunfu: 2% of the wage)
ROUNDING_STEPS = frozenset({STEP_ITEM_SELFPAY, STEP_FUND, STEP_CAP})


class MoneyError(ValueError):
    """A value is not an acceptable amount or ratio; ``reason`` says why."""

    def __init__(self, value: object, reason: str) -> None:
        super().__init__(reason)
        self.value = value
        self.reason = reason


def round_fen(value: Decimal, step: str) -> Decimal:
    """Round ``value`` half up to the fen, at the named ``step``."""
    if step not in ROUNDING_STEPS:
        raise ValueError(f"unknown rounding step {step!r}")
    return value.quantize(FEN, ROUND_HALF_UP)  # positional: the keyword form takes twice as long


def _to_decimal(value: object) -> Decimal:
    if type(value) is str:  # the usual case, tested first: a quote parses dozens
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise MoneyError(value, "不是数字") from None
    elif isinstance(value, bool) or isinstance(value, float):
        # bool is an int; a float has already lost exactness.
        raise MoneyError(value, "须为字符串或整数形式的数字（不接受浮点数）")
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):  # a subclass of str
        return _to_decimal(str(value))
    else:
        raise MoneyError(value, "不是数字")
    if not result.is_finite():
        raise MoneyError(value, "不是有限数字")
    return result


MAX_AMOUNT = Decimal("100000000.00")  # 100 million yuan: above any figure of one member's year; larger is refused


def parse_amount(value: object, *, allow_negative: bool = False) -> Decimal:
    """An amount in yuan with at most two decimals, as a ``Decimal`` in fen precision, at most ``MAX_AMOUNT``."""
    result = _to_decimal(value)
    if not allow_negative and result < 0:
        raise MoneyError(value, "金额不能为负数")
    if abs(result) > MAX_AMOUNT:
        raise MoneyError(value, f"金额超出上限 {MAX_AMOUNT}")
    fen = result.quantize(FEN)
    if result != fen:
        raise MoneyError(value, "金额最多两位小数（到分）")
    return fen


def parse_ratio(value: object) -> Decimal:
    """A ratio between 0 and 1 inclusive."""
    result = _to_decimal(value)
    if result < 0 or result > 1:
        raise MoneyError(value, "比例须在 0 到 1 之间")
    return result


def to_fen(amount: Decimal) -> int:
    """Whole fen as an integer (for storage); refuses a fraction of a fen."""
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of fen")
    return int(fen)


def from_fen(fen: int) -> Decimal:
    """Whole fen as yuan, exactly, to the fen (``Decimal(fen)`` moved two places: no division, no rounding)."""
    return Decimal(fen).scaleb(-2)


def fmt(amount: Decimal) -> str:
    """Yuan with two decimals, as the national platform's interface writes it."""
    return str(amount.quantize(FEN))


def fmt_ratio(ratio: Decimal) -> str:
    """A ratio with two decimals (0.55), or more where the ratio needs them."""
    if ratio == ratio.quantize(FEN):
        return str(ratio.quantize(FEN))
    return str(ratio.normalize())


def percent(ratio: Decimal) -> str:
    """A ratio as a percentage for the explanation: 0.55 -> 55%."""
    return _percent(ratio, ratio.is_signed())


@functools.lru_cache(maxsize=256)  # a region has a handful of ratios, and every explained quote shows one or two
def _percent(ratio: Decimal, signed: bool) -> str:
    """The text depends on the value alone (0.55 and 0.550 give 55%) but for zero's sign, which equality ignores
    (-0 == 0) and the text shows (-0%): the sign is part of the cache's key."""
    value = (ratio * 100).normalize()
    text = format(value, "f")
    return f"{text}%"
