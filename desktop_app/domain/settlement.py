"""The result of settling one visit, and its boundary form (national platform field names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, partial
from typing import NamedTuple

from .frozen import quick_init
from .money import ZERO, fmt, fmt_ratio


class ItemSplit(NamedTuple):
    """How one item's amount divides before the fund is applied.

    A named tuple, not a dataclass: the engine makes one for every item of every quote, and a tuple is made in
    a third of the time of the quickest frozen dataclass (:mod:`.frozen`).  It is as immutable, and its fields
    are read by name the same way.  The engine builds it with :data:`new_split`; anything else may call it.
    """

    code: str
    name: str
    category: str
    amount: Decimal
    fully_self_paid: Decimal  # 全自费: category C, or above the price cap
    self_pay_first: Decimal  # 先行自付: category B x selfpay_ratio
    in_scope: Decimal  # 符合政策范围
    route: str  # "ordinary", "programme:<name>", or "none" (no pooling for this item)
    quantity: Decimal = Decimal("1")
    unit_price: Decimal | None = None


# An ItemSplit from a tuple of all ten fields in order, made by the tuple's own ``__new__``: the named tuple's
# (a Python function with keyword defaults) took 60% longer.  The engine's item loop, which always has all ten,
# is its one caller.
new_split = partial(tuple.__new__, ItemSplit)


@quick_init
@dataclass(frozen=True)
class YearUsage:
    deductible_paid: Decimal
    pool_paid: Decimal
    programme_paid: Mapping[str, Decimal]


@quick_init
@dataclass(frozen=True)
class Settlement:
    region: str
    date: str
    rule_version: str
    documents: tuple[str, ...]
    total: Decimal
    fully_self_paid: Decimal
    self_pay_first: Decimal
    in_scope: Decimal
    deductible_this_visit: Decimal
    fund_ordinary: Decimal
    fund_ratio: Decimal
    fund_by_programme: Mapping[str, Decimal]
    annual_cap: Decimal | None
    cap_left_after: Decimal | None
    usage_after: YearUsage
    items: tuple[ItemSplit, ...]
    explanation: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    @cached_property  # read by the split, the check, the record and the receipt: added up once
    def fund_total(self) -> Decimal:
        return self.fund_ordinary + sum(self.fund_by_programme.values(), ZERO)

    def explained_further(self, lines: tuple[str, ...]) -> Settlement:
        """This settlement with ``lines`` after its explanation (the payment's steps).  Every other field is the
        same object, so the copy is made field for field, as ``quick_init`` makes one, instead of by
        ``dataclasses.replace`` (which passes every field again by keyword: 4 µs of a confirm)."""
        copy = object.__new__(Settlement)
        copy.__dict__.update(self.__dict__)  # fund_total too, where it was added up: the same figures
        copy.__dict__["explanation"] = (*self.explanation, *lines)
        return copy

    @property
    def member_share(self) -> Decimal:
        return self.total - self.fund_total

    def to_dict(self) -> dict:
        """The boundary form: national platform names, amounts as yuan strings."""
        return {
            "region": self.region,
            "date": self.date,
            "rule_version": self.rule_version,
            "documents": list(self.documents),
            "medfee_sumamt": fmt(self.total),
            "fulamt_ownpay_amt": fmt(self.fully_self_paid),
            "preselfpay_amt": fmt(self.self_pay_first),
            "inscp_scp_amt": fmt(self.in_scope),
            "act_pay_dedc": fmt(self.deductible_this_visit),
            "hifp_pay": fmt(self.fund_total),
            "pool_prop_selfpay": fmt_ratio(self.fund_ratio),
            "psn_part_amt": fmt(self.member_share),
            "ordinary_pool_pay": fmt(self.fund_ordinary),
            "programme_pay": {name: fmt(v) for name, v in self.fund_by_programme.items()},
            "annual_cap": None if self.annual_cap is None else fmt(self.annual_cap),
            "cap_left": None if self.cap_left_after is None else fmt(self.cap_left_after),
            "usage_after": {
                "deductible_paid": fmt(self.usage_after.deductible_paid),
                "pool_paid": fmt(self.usage_after.pool_paid),
                "programme_paid": {k: fmt(v) for k, v in self.usage_after.programme_paid.items()},
            },
            "items": [
                {
                    "code": s.code,
                    "name": s.name,
                    "category": s.category,
                    "cnt": str(s.quantity),
                    "pric": None if s.unit_price is None else fmt(s.unit_price),
                    "det_item_fee_sumamt": fmt(s.amount),
                    "fulamt_ownpay_amt": fmt(s.fully_self_paid),
                    "preselfpay_amt": fmt(s.self_pay_first),
                    "inscp_scp_amt": fmt(s.in_scope),
                    "route": s.route,
                }
                for s in self.items
            ],
            "explanation": list(self.explanation),
            "warnings": list(self.warnings),
        }
