"""The whole settlement of one visit: the fund (rules), the offline cut, and who pays the rest.

The one function the desk and the hub both call: :func:`settle_visit`.  Each side
brings its own data (usage, balances, relations, catalogue flags); the figures that
move money come only from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..domain.case import Case
from ..domain.frozen import quick_init
from ..domain.money import ZERO, to_fen
from ..domain.settlement import Settlement
from ..domain.vocabulary import PROGRAMMES
from .engine import settle
from .offline import Allowance, cut
from .payment import Accounts, ItemAccountRule, PayerChoice, Payment, split
from .rulebook import RuleVersion


@quick_init
@dataclass(frozen=True)
class VisitOutcome:
    settlement: Settlement  # the fund, after any offline cut; its explanation includes the payment steps
    payment: Payment

    def check(self) -> None:
        """fund + own account + family account + cash == total (never false; a guard against edits)."""
        s, p = self.settlement, self.payment
        if s.fund_total + p.own_account + p.family_account + p.cash != s.total:
            raise AssertionError("payment split does not add up to the total")


def journal_figures(settlement: Settlement, payment: Payment) -> dict[str, int]:
    """What one settlement moves, in fen, under the journal's names (``AMOUNTS`` and ``COUNTERS``)."""
    s, p = settlement, payment
    return {
        "medfee_sumamt": to_fen(s.total),
        "hifp_pay": to_fen(s.fund_total),
        "acct_pay": to_fen(p.own_account),
        "acct_mulaid_pay": to_fen(p.family_account),
        "psn_cash_pay": to_fen(p.cash),
        "deductible": to_fen(s.deductible_this_visit),
        "pool": to_fen(s.fund_ordinary),
        **{f"programme_{name}": to_fen(s.fund_by_programme.get(name, ZERO)) for name in PROGRAMMES},
    }


def settle_visit(
    case: Case,
    rules: RuleVersion,
    lines: Sequence[ItemAccountRule],
    accounts: Accounts,
    choice: PayerChoice,
    allowance: Allowance | None = None,
    *,
    explain: bool = True,
) -> VisitOutcome:
    """The fund, the offline cut and the payment split; ``explain=False``: the same figures, no explanation."""
    settlement = cut(settle(case, rules, explain=explain), allowance)
    payment = split(settlement, lines, accounts, choice, rules, explain=explain)
    if payment.explanation:
        settlement = settlement.explained_further(payment.explanation)
    outcome = VisitOutcome(settlement, payment)
    outcome.check()
    return outcome
