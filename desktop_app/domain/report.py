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


@dataclass(frozen=True)
class TraceDuplicate:
    """A code the hub reported sold before, elsewhere or here, while that sale stands (回流药 suspected)."""

    code: str
    uuid: str  # this desk's settlement
    first_desk: str
    first_sold_at: str


@dataclass
class TraceFigures:
    """药品追溯码 on the day: codes sold (and given back by refunds), lines settled without them, the hub's findings."""

    codes_sold: int = 0
    codes_released: int = 0
    waived: dict[str, int] = field(default_factory=dict)  # reason -> traced lines settled short of their codes
    duplicates: list[TraceDuplicate] = field(default_factory=list)

    @property
    def waived_lines(self) -> int:
        return sum(self.waived.values())

    def waived_text(self) -> str:
        """ "无码药品 2 行，扫码设备故障 1 行", or "无"."""
        return "，".join(f"{reason} {n} 行" for reason, n in sorted(self.waived.items())) or "无"


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
    trace: TraceFigures = field(default_factory=TraceFigures)

    def adds_up(self) -> bool:
        return self.fund + self.own_account + self.family_account + self.cash == self.total

    @property
    def cash_due(self) -> Decimal:
        """应交现金, all cashiers together (the day's net cash)."""
        return sum((c.cash_due for c in self.by_cashier.values()), ZERO)
