"""The offline cut: while a desk has not reached the hub, the fund pays at most an allowance.

Pure: the desk works out the allowance from its settings and its unsent journal
(``services/offline.py``); this applies it.  What the fund does not pay now the
member pays, and the hub records the difference so the agency reimburses it later.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from ..domain.money import ZERO, fmt
from ..domain.settlement import Settlement, YearUsage


@dataclass(frozen=True)
class Allowance:
    """At most ``fund`` from the fund this visit, and why (the settings that set it)."""

    fund: Decimal
    why: str


def cut(s: Settlement, allowance: Allowance | None) -> Settlement:
    """``s`` with the fund cut to the allowance: ordinary pooling first, then each programme."""
    if allowance is None or s.fund_total <= allowance.fund:
        return s
    allowed = max(ZERO, allowance.fund)
    cut_by = s.fund_total - allowed
    ordinary_cut = min(cut_by, s.fund_ordinary)
    left, programmes = cut_by - ordinary_cut, dict(s.fund_by_programme)
    for name in list(programmes):
        taken = min(left, programmes[name])
        programmes[name] -= taken
        left -= taken
    usage = YearUsage(
        s.usage_after.deductible_paid,
        s.usage_after.pool_paid - ordinary_cut,
        {
            k: v - (s.fund_by_programme.get(k, ZERO) - programmes.get(k, ZERO))
            for k, v in s.usage_after.programme_paid.items()
        },
    )
    note = (
        f"{allowance.why}：本次统筹基金支付 {fmt(allowed)}，其余 {fmt(cut_by)} 由参保人先行支付，"
        "联网后由经办机构核定补付"
    )
    return replace(
        s,
        fund_ordinary=s.fund_ordinary - ordinary_cut,
        fund_by_programme=programmes,
        usage_after=usage,
        cap_left_after=None if s.cap_left_after is None else s.cap_left_after + ordinary_cut,
        explanation=(*s.explanation, note),
        warnings=(*s.warnings, note),
    )
