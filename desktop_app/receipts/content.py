"""What a receipt says, whatever its layout: the status notes, the settlement's figures, the year so far."""

from __future__ import annotations

from decimal import Decimal

from ..domain.money import fmt
from .model import Receipt


def money(amount: Decimal) -> str:
    """Yuan with two decimals; a refund's zero prints as 0.00, not -0.00."""
    return fmt(abs(amount) if amount == 0 else amount)


def status_lines(r: Receipt) -> list[str]:
    lines = []
    if r.is_refund:
        lines.append("【退费】金额为负，冲销原结算")
    if r.copy_note:
        lines.append(f"【{r.copy_note}】")
    if r.unsynced:
        lines.append("离线结算，尚未上传医保中心")
    return lines


def notes(r: Receipt) -> list[str]:
    """The lines under the figures: a refund's reason and who authorised it; a settlement's warnings and approvals
    (a price above the catalogue's names the supervisor and the reason)."""
    lines = []
    if r.is_refund and r.reason:
        lines.append(f"退费原因：{r.reason}")
    if r.is_refund and r.supervisor:
        lines.append(f"退费由主管 {r.supervisor} 授权，计入收款员 {r.operator}")
    return lines + list(r.warnings)


def settlement_pairs(r: Receipt) -> list[tuple[str, str, bool]]:
    """(label, amount, bold) for each figure of the settlement, in the order printed."""
    ratio = "" if r.fund_ratio is None or r.is_refund else f"（{(r.fund_ratio * 100).normalize():f}%）"
    pairs = [
        ("医疗费总额", money(r.total), True),
        ("全自费", money(r.fully_self_paid), False),
        ("先行自付", money(r.self_pay_first), False),
        ("符合政策范围", money(r.in_scope), False),
        ("本次起付线", money(r.deductible), False),
        (f"统筹基金支付{ratio}", money(r.fund), True),
    ]
    pairs += [(f"  其中{name}门诊用药保障", money(amount), False) for name, amount in r.programme_fund]
    pairs.append(("个人账户支付", money(r.own_account), False))
    family = f"共济账户支付（{r.family_payer_name}）" if r.family_payer_name else "共济账户支付"
    pairs.append((family, money(r.family_account), False))
    pairs.append(("现金支付", money(r.cash), True))
    if r.tendered is not None and r.change is not None:
        pairs += [("实收现金", money(r.tendered), False), ("找零", money(r.change), True)]
    pairs.append(("个人账户余额", money(r.balance), False))
    return pairs


def year_pairs(r: Receipt) -> list[tuple[str, str]]:
    """(label, amount) for the member's year so far, this entry included."""
    pairs = [("起付线已累计", money(r.ytd_deductible)), ("统筹基金已支付", money(r.ytd_fund))]
    pairs += [(f"{name}已支付", money(amount)) for name, amount in r.ytd_programme]
    pairs.append(("年度限额剩余", "不设限额" if r.cap_left is None else money(r.cap_left)))
    return pairs
