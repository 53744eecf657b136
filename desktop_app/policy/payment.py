"""Who pays the member's share: own personal account, a family member's account (家庭共济), cash.

Pure: no I/O.  The desk and the hub call the same function with their own balances and
relations, so a figure the hub stores is one it computed itself.  Every step is a line of
the explanation, citing its article:

1. the share the account may pay: the member's share less items the account may not pay
   (catalogue flag, or an item kind the region excludes, ``account_excluded_item_kinds``);
2. own account: only under the combined scheme (统账结合), at most its balance;
3. a family payer: only with a relation the region allows (``account_relations``), at most
   that account's balance, never the member themself;
4. cash: the rest.  fund + own + family + cash == total, always.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from ..domain.errors import InputError
from ..domain.frozen import quick_init
from ..domain.money import ZERO, fmt
from ..domain.settlement import Settlement
from ..domain.vocabulary import RELATION_NAMES, SCHEMES_WITH_ACCOUNT
from .lines import Lines
from .rulebook import RuleVersion


class ItemAccountRule(Protocol):
    """What the account rules need of one line's catalogue item (``domain.catalogue.CatalogueItem`` has it)."""

    account_payable: bool
    item_kind: str


@dataclass(frozen=True)
class PayerChoice:
    use_account: bool = True
    family_payer: str | None = None


@quick_init
@dataclass(frozen=True)
class Accounts:
    """The balances and relation as the caller's own data has them."""

    psn_no: str
    scheme: str  # "combined" (统账结合) or "pooling_only"
    balance: Decimal
    family_balance: Decimal | None = None  # the family payer's balance, when one is chosen
    # how the member stands to the payer ("child": the payer's child), None if not linked
    family_relation: str | None = None
    family_name: str = ""


@quick_init
@dataclass(frozen=True)
class Payment:
    own_account: Decimal
    family_account: Decimal
    family_payer: str | None
    cash: Decimal
    balance_after: Decimal
    family_balance_after: Decimal | None
    explanation: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """The boundary form (national platform names, yuan strings)."""
        return {
            "acct_pay": fmt(self.own_account),
            "acct_mulaid_pay": fmt(self.family_account),
            "family_payer": self.family_payer,
            "psn_cash_pay": fmt(self.cash),
            "balc": fmt(self.balance_after),
            "family_balc": None if self.family_balance_after is None else fmt(self.family_balance_after),
        }


def never_account(settlement: Settlement, lines: Sequence[ItemAccountRule], rules: RuleVersion) -> Decimal:
    """The part of the visit no personal account may pay (the whole amount of each such item)."""
    excluded = set(rules["account_excluded_item_kinds"].value)
    return sum(
        (
            s.amount
            for s, line in zip(settlement.items, lines, strict=True)
            if not line.account_payable or line.item_kind in excluded
        ),
        ZERO,
    )


def split(
    settlement: Settlement,
    lines: Sequence[ItemAccountRule],
    accounts: Accounts,
    choice: PayerChoice,
    rules: RuleVersion,
    *,
    explain: bool = True,
) -> Payment:
    """The member's share divided into own account, family account and cash (``explain``: see ``engine.settle``)."""
    share = settlement.member_share
    blocked = never_account(settlement, lines, rules)
    payable = max(ZERO, share - blocked)
    why = Lines(explain)
    if why.on:
        why.append(
            f"个人负担 {fmt(share)}，其中个人账户不得支付 {fmt(blocked)}"
            f"（{rules['account_excluded_item_kinds'].citation}），账户可支付部分 {fmt(payable)}"
        )
    if accounts.scheme not in SCHEMES_WITH_ACCOUNT:
        own = ZERO
        why.append("单建统筹人员无个人账户，个人账户支付 0.00")
    elif not choice.use_account:
        own = ZERO
        why.append("参保人选择不使用个人账户")
    else:
        own = min(max(accounts.balance, ZERO), payable)
        if why.on:
            why.append(
                f"本人个人账户支付 {fmt(own)}（余额 {fmt(accounts.balance)}；{rules['account_relations'].citation}）"
            )
    family, family_after = ZERO, None
    payer = choice.family_payer
    if payer is not None:
        if payer == accounts.psn_no:
            raise InputError("payment.family_payer", payer, "共济支付人不能是本人")
        allowed = rules["account_relations"]
        relation = accounts.family_relation
        if relation is None or relation not in allowed.value or accounts.family_balance is None:
            shown = RELATION_NAMES.get(relation, "无登记的亲属关系")
            raise InputError(
                "payment.family_payer",
                payer,
                f"{accounts.family_name or payer} 与参保人的关系（{shown}）"
                f"不在本地区家庭共济范围内（{allowed.citation}）",
            )
        family = min(max(accounts.family_balance, ZERO), payable - own)
        family_after = accounts.family_balance - family
        if why.on:
            why.append(
                f"家庭共济：{accounts.family_name or payer} 的个人账户支付 {fmt(family)}"
                f"（参保人是其{RELATION_NAMES[relation]}；{allowed.citation}）"
            )
    cash = share - own - family
    if why.on:
        why.append(f"现金支付 {fmt(cash)} = 个人负担 {fmt(share)} − 本人账户 {fmt(own)} − 共济账户 {fmt(family)}")
    return Payment(own, family, payer, cash, accounts.balance - own, family_after, tuple(why))
