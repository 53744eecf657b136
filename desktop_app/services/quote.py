"""Quote a visit: parse the case, pick the rule version in force, settle (and, given the accounts, split)."""

from __future__ import annotations

from pathlib import Path

from ..domain.case import Case, parse_case
from ..domain.settlement import Settlement
from ..policy.engine import settle
from ..policy.offline import Allowance
from ..policy.payment import Accounts, PayerChoice
from ..policy.visit import VisitOutcome, settle_visit
from ..resources import rules_dir
from ..rule_files import cached_region

MEMBER = "本人"  # a case names no psn_no; the payer choice only needs to tell the member from a relative


def quote_case(case: Case, root: Path | None = None) -> Settlement:
    book = cached_region(case.region, str(root or rules_dir()))
    return settle(case, book.at(case.date))


def quote_visit(case: Case, root: Path | None = None) -> VisitOutcome:
    """The whole settlement of a case that carries ``payment``: the fund, the offline cut, and who pays."""
    facts = case.payment
    rules = cached_region(case.region, str(root or rules_dir())).at(case.date)
    accounts = Accounts(
        MEMBER, case.member.scheme, facts.balance, facts.family_balance, facts.family_relation, facts.family_payer or ""
    )
    allowance = None if facts.offline_fund is None else Allowance(facts.offline_fund, "离线结算（离线额度）")
    return settle_visit(
        case, rules, case.items, accounts, PayerChoice(facts.use_account, facts.family_payer), allowance
    )


def quote(data: object, root: Path | None = None) -> dict:
    """The `quote` command's work: a case in the JSON format in, the settlement dict out."""
    case = parse_case(data)
    if case.payment is None:
        return quote_case(case, root).to_dict()
    outcome = quote_visit(case, root)
    return {**outcome.settlement.to_dict(), **outcome.payment.to_dict()}
