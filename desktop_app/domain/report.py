"""The day-end report (日结) as plain data: the counter's figures for one day."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .money import ZERO


@dataclass
class DayReport:
    day: str
    facility: str
    settlements: int = 0
    refunds: int = 0
    total: Decimal = ZERO
    fund: Decimal = ZERO
    own_account: Decimal = ZERO
    family_account: Decimal = ZERO
    cash: Decimal = ZERO
    refunded_total: Decimal = ZERO
    unsynced: int = 0
    by_hour: dict[int, tuple[int, Decimal]] = field(default_factory=dict)  # hour -> (count, total)
    by_operator: dict[str, tuple[int, Decimal]] = field(default_factory=dict)

    def adds_up(self) -> bool:
        return self.fund + self.own_account + self.family_account + self.cash == self.total
