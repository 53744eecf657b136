"""Refusals in a cashier's words: what is wrong and what to do; the field's path and value go to the log.

Our errors name a field the way the checkout file spells it (``items[0].quantity``,
``payment.family_payer``, ``settings.facility.id``): right for the log and the command line,
but a cashier reads 第 1 项（阿莫西林胶囊）的数量.  :func:`plain` turns an error into that
sentence and writes the path, the value and the reason to the ``gongji.ui`` log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from ..domain.errors import (
    FrameworkViolation,
    GongjiError,
    InputError,
    MissingPublishedFigure,
    NoRulesInForce,
    RulesError,
)
from ..services.desk import SETTINGS_BY_KEY

log = logging.getLogger("gongji.ui")

ASK_SUPERVISOR = "请主管在设置（F8）中录入或更正"
# A field's path (an item's index written as []) -> (what a cashier calls it, what to do about it).
FIELDS = {
    "certno": ("身份证号", "请核对证件后重新录入或扫码"),
    "member.certno": ("身份证号", "请核对证件后重新录入或扫码"),
    "member.psn_no": ("人员编号", "请核对人员编号，或用身份证号查找（F1）"),
    "member": ("参保人", "请重新查找参保人（F1）"),
    "member.designated_facility": ("参保人的定点机构", "急救抢救请把就诊类别选为急诊"),
    "member.scheme": ("参保人的参保类型", "请联系主管"),
    "items": ("项目", "请核对项目的数量与单价（F2）"),
    "items[]": ("项目", "请删除该项目后重新录入（F2）"),
    "items[].code": ("项目", "请删除该项目后重新录入（F2）"),
    "items[].quantity": ("数量", "请在项目表中改数量"),
    "items[].unit_price": ("单价", "请在项目表中改单价"),
    "items[].amount": ("金额", "请在项目表中核对数量与单价"),
    "items[].price_cap": ("限价", "请在项目表中改数量"),
    "payment": ("支付方式", "请重新选择个人账户（F3）与共济支付人（F4）"),
    "payment.use_account": ("个人账户支付", "请按 F3 重新选择"),
    "payment.family_payer": ("共济支付人", "请按 F4 改选，或选“不使用共济账户”"),
    "date": ("就诊日期", "请核对就诊日期"),
    "prescription": ("外配处方", "请按 F9 填写外配处方"),
    "facility": ("本机构的类别与级别", ASK_SUPERVISOR),
    "uuid": ("结算号", "请在当日结算（F6）中核对"),
    "layout": ("票据版式", ASK_SUPERVISOR),
    "reason": ("授权原因", "请选择或填写原因"),
    "name": ("操作员名", ""),
    "role": ("操作员角色", ""),
    "request_id": ("请求编号", "请联系技术支持"),
    "case": ("结算内容", "请联系技术支持"),
}
FACILITY_WORDS = {"id": "本机构编码", "kind": "机构类别", "level": "机构级别", "grade": "机构等级", "tier": "机构层级"}
# Reasons written for the checkout file's author, said again for the counter.
REASONS = {
    "数量 × 单价 不是整分金额": "与单价相乘算不出整分金额，请改为整数数量",
    "限价 × 数量 不是整分金额": "与限价相乘算不出整分金额，请改为整数数量",
    "必填字段缺失": "未填写",
}
SECRET_VALUES = {"******", ""}


def plain(exc: GongjiError, items: Sequence[str] = ()) -> str:
    """The sentence a cashier reads for ``exc``; ``items`` names the cart's lines (第 n 项 gets its name)."""
    if isinstance(exc, InputError):
        log.info("input refused: %s = %r: %s", exc.field, exc.value, exc.reason)
        return refused(str(exc.field), exc.value, exc.reason, items)
    log.info("refused: %s", exc)
    if isinstance(exc, NoRulesInForce):
        return f"{exc.date} 没有有效的结算规则（{exc.detail}）：请联系主管或技术支持更新规则后再结算"
    if isinstance(exc, MissingPublishedFigure):
        return f"缺少当地公布的{exc.meaning}（{exc.citation}）：请主管在设置（F8）的“录入公布数值”中录入后再结算"
    if isinstance(exc, FrameworkViolation):
        return f"录入的公布数值不符合政策（{exc.rule}）：{ASK_SUPERVISOR}"
    if isinstance(exc, RulesError):
        return f"规则文件有误（{exc.file}）：{exc.problem}。请联系技术支持"
    return str(exc)


def refused(field: str, value: object, reason: str, items: Sequence[str] = ()) -> str:
    """``{what} {value}：{reason}；{what to do}`` — the value only where it helps (short, not a secret)."""
    what, advice = words_for(field, items)
    reason = REASONS.get(reason, reason)
    shown = _value(value)
    text = f"{what} {shown}：{reason}" if shown else f"{what}：{reason}"
    if advice and "请" not in reason:
        text += f"；{advice}"
    return text


def words_for(field: str, items: Sequence[str] = ()) -> tuple[str, str]:
    """(what a cashier calls the field, what to do); a field already in Chinese is its own name."""
    if not field.isascii():
        return field, ""
    if field.startswith("settings."):
        return _setting(field.removeprefix("settings.")), ASK_SUPERVISOR
    if field.startswith("facility."):
        return FACILITY_WORDS.get(field.removeprefix("facility."), "本机构信息"), ASK_SUPERVISOR
    if field.startswith("prescription."):
        return "外配处方", "请按 F9 补全外配处方"
    if field.startswith("published"):
        return "公布数值", ASK_SUPERVISOR
    index = re.match(r"items\[(\d+)\]", field)
    words, advice = FIELDS.get(re.sub(r"\[\d+\]", "[]", field), ("录入内容", ""))
    if index:
        n = int(index.group(1))
        line = f"第 {n + 1} 项" + (f"（{items[n]}）" if n < len(items) else "")
        words = line if words == "项目" else f"{line}的{words}"
    return words, advice


def _setting(key: str) -> str:
    entry = SETTINGS_BY_KEY.get(key)
    return f"设置“{entry.label}”" if entry else "设置"


def _value(value: object) -> str:
    if value is None or isinstance(value, (dict, list, tuple, bool)):
        return ""
    text = str(value).strip()
    if text in SECRET_VALUES or len(text) > 24 or not text.isprintable():
        return ""
    return text
