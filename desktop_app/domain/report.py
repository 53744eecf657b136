"""The day-end report (日结) as plain data: the counter's figures for one day, and each cashier's drawer."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .money import ZERO


@dataclass
class CashierFigures:
    """One cashier's day: a refund is booked to the cashier of record (who took the money), not to the supervisor."""

    settlements: int = 0
    refunds: int = 0
    total: Decimal = ZERO  # 医疗费总额, net of refunds
    cash_taken: Decimal = ZERO  # the cash of their settlements
    cash_returned: Decimal = ZERO  # the cash given back on refunds of their settlements (positive)

    @property
    def cash_due(self) -> Decimal:
        """应交现金: what their drawer hands in."""
        return self.cash_taken - self.cash_returned


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
    by_cashier: dict[str, CashierFigures] = field(default_factory=dict)  # the cashier of record -> their drawer

    def adds_up(self) -> bool:
        return self.fund + self.own_account + self.family_account + self.cash == self.total

    @property
    def cash_due(self) -> Decimal:
        """应交现金, all cashiers together (the day's net cash)."""
        return sum((c.cash_due for c in self.by_cashier.values()), ZERO)
