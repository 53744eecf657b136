"""One row of a member or catalogue import, checked field by field: the value to store, or every bad field named.

A supervisor's file comes from the social-security office's export or from Excel typed by hand, so each
column is accepted under its program name (``psn_no``) or its Chinese heading (人员编号), and the common
Chinese values (男/女, 在职/退休, 甲/乙/丙) as well as the codes.  A bad field becomes a :class:`BadRow`
that says the row, the column, the value and what to do; an ID number is shown masked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..domain.catalogue import CatalogueItem
from ..domain.diagnosis import Diagnosis, normalise_code
from ..domain.errors import InputError
from ..domain.identity import mask_certno, validate_certno
from ..domain.member import MemberRecord
from ..domain.money import MoneyError, parse_amount, parse_ratio
from ..domain.vocabulary import (
    CATALOGUE_COLUMNS,
    CATEGORY_NAMES,
    MEMBER_COLUMNS,
    PROGRAMME_NAMES,
    SCHEME_NAMES,
    STATUS_NAMES,
)
from ..store import catalogue


class LongNumber(str):
    """A long number Excel kept as a floating-point number: its last digits are already lost."""


@dataclass(frozen=True)
class BadRow:
    """One bad field of one row, as the back office lists it before anything is written."""

    row: int  # as the spreadsheet numbers it: the heading is row 1
    column: str
    value: str
    todo: str

    def text(self) -> str:
        shown = f"“{self.value}”" if self.value else "（空）"
        return f"第 {self.row} 行　{self.column} {shown}：{self.todo}"


class _Bad(Exception):
    def __init__(self, todo: str) -> None:
        super().__init__(todo)
        self.todo = todo


# Column key -> its Chinese heading (shown in the preview and in every message), then the other headings accepted.
MEMBER_HEADINGS = {
    "psn_no": ("人员编号", "个人编号", "医保编号"),
    "certno": ("身份证号", "身份证号码", "证件号码"),
    "name": ("姓名",),
    "sex": ("性别",),
    "birth_date": ("出生日期",),
    "insutype": ("险种", "险种类型"),
    "status": ("人员类别", "在职退休", "人员状态"),
    "status_since": ("退休日期",),
    "scheme": ("参保方式", "统账方式"),
    "region": ("统筹地区",),
    "civil_servant": ("公务员",),
    "programmes": ("两病", "两病备案"),
    "designated_facility": ("定点机构", "选定机构", "定点医疗机构"),
    "account_balance": ("个人账户余额", "账户余额", "余额"),
}
MEMBER_REQUIRED = ("psn_no", "certno", "name", "status")
CATALOGUE_HEADINGS = {
    "code": ("编码", "医保编码", "项目编码"),
    "name": ("名称", "项目名称", "药品名称"),
    "category": ("类别", "甲乙类", "甲乙丙类"),
    "selfpay_ratio": ("自付比例", "先行自付比例"),
    "price": ("价格", "单价"),
    "price_cap": ("限价", "最高限价", "支付限价"),
    "unit": ("单位",),
    "programme": ("两病",),
    "item_kind": ("项目类型",),
    "account_payable": ("个账可付", "个人账户可支付"),
    "barcode": ("条码", "条形码"),
    "spec": ("规格",),
    "manufacturer": ("生产厂家", "厂家"),
    "trac_required": ("追溯码管理", "扫码销售", "trac_flag"),
    "packs_per_unit": ("包装数", "最小包装数量", "min_pac_cnt"),
}
CATALOGUE_REQUIRED = ("code", "name", "category", "price")
assert set(MEMBER_HEADINGS) == set(MEMBER_COLUMNS)  # the import names every stored column


def label(headings: dict[str, tuple[str, ...]], key: str) -> str:
    return headings[key][0] if key in headings else key


def heading_key(headings: dict[str, tuple[str, ...]], columns: tuple[str, ...], text: str) -> str | None:
    """The column a heading names (``人员编号``, ``psn_no``, ``*姓名`` …), or None."""
    name = re.sub(r"[\s*＊]", "", text).lower()
    for key in columns:
        if name == key or name in headings.get(key, ()):
            return key
    return None


# ---------------------------------------------------------------- member fields


def _both_ways(names: dict[str, str]) -> dict[str, str]:
    """Codes and their Chinese names, both accepted: {"employed": "employed", "在职": "employed", …}."""
    return {**{code: code for code in names}, **{word: code for code, word in names.items()}}


SEXES = {"1": "1", "男": "1", "m": "1", "2": "2", "女": "2", "f": "2"}
STATUSES = _both_ways(STATUS_NAMES)
SCHEMES = {"": "combined", **_both_ways(SCHEME_NAMES)}
PROGRAMMES = _both_ways(PROGRAMME_NAMES)
YES_NO = {
    "": False,
    "0": False,
    "否": False,
    "n": False,
    "false": False,
    "1": True,
    "是": True,
    "y": True,
    "true": True,
}


def _bad(todo: str):
    raise _Bad(todo)


def _text(value: str, limit: int, required: bool = True) -> str | None:
    if isinstance(value, LongNumber):
        raise _Bad("Excel 把这个号码存成了数字，末几位已丢失：请把该列设为“文本”格式，重新录入后再导入")
    if not value:
        if required:
            raise _Bad("必填，请补上")
        return None
    if len(value) > limit:
        raise _Bad(f"不能超过 {limit} 个字")
    return value


def _choice(table: dict[str, object], todo: str) -> Callable[[str], object]:
    def check(value: str) -> object:
        if value.lower() not in table:
            raise _Bad(todo)
        return table[value.lower()]

    return check


def _date(value: str, required: bool = False) -> str | None:
    if not value:
        if required:
            raise _Bad("必填，请补上")
        return None
    text = value.replace("/", "-").replace(".", "-")
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise _Bad("不是日期：请写成 1980-05-01") from None


def _certno(value: str) -> str:
    _text(value, 18)
    try:
        return validate_certno(value)
    except InputError as exc:
        raise _Bad(exc.reason) from None


def _programmes(value: str) -> tuple[str, ...]:
    names = [p for p in re.split(r"[;,，、；/\s]+", value) if p]
    unknown = [p for p in names if p.lower() not in PROGRAMMES]
    if unknown:
        raise _Bad("只能填 高血压、糖尿病（多个用顿号隔开）或留空")
    return tuple(dict.fromkeys(PROGRAMMES[p.lower()] for p in names))


def _balance(value: str):
    try:
        return parse_amount(value or "0")
    except MoneyError as exc:
        raise _Bad(f"{exc.reason}：填元，如 1234.50，没有余额填 0") from None


_SEX = _choice(SEXES, "填 男 或 女（或 1、2），留空则按身份证号")
_STATUS = _choice(STATUSES, "填 在职 或 退休")

MEMBER_FIELDS: dict[str, Callable[[str], object]] = {
    "psn_no": lambda v: _text(v, 40),
    "certno": _certno,
    "name": lambda v: _text(v, 50),
    "sex": lambda v: _SEX(v) if v else None,
    "birth_date": _date,
    "insutype": lambda v: (
        "310" if v in ("", "310", "职工基本医疗保险") else _bad("本程序只办理职工医保：填 310 或留空")
    ),
    "status": lambda v: _STATUS(v) if v else _bad("必填：在职 或 退休"),
    "status_since": _date,
    "scheme": _choice(SCHEMES, "填 统账结合 或 单建统筹（留空为统账结合）"),
    "region": lambda v: v,  # checked against this desk's region below
    "civil_servant": _choice(YES_NO, "填 是 或 否（留空为否）"),
    "programmes": _programmes,
    "designated_facility": lambda v: _text(v, 40, required=False),
    "account_balance": _balance,
}


def shown(key: str, value: str) -> str:
    """A value as a message may show it: an ID number masked (first 6, last 4)."""
    return mask_certno(value) if key == "certno" and len(value) > 10 else value


def member(values: dict[str, str], row: int, region: str) -> tuple[MemberRecord | None, list[BadRow]]:
    """One member row: the record to store, or every bad field (``region`` is this desk's)."""
    bad: list[BadRow] = []
    data: dict[str, object] = {}
    for key, check in MEMBER_FIELDS.items():
        value = values.get(key, "")
        try:
            data[key] = check(value)
        except _Bad as exc:
            bad.append(BadRow(row, label(MEMBER_HEADINGS, key), shown(key, value), exc.todo))
    for key, todo in _member_agrees(data, values, region):
        bad.append(BadRow(row, label(MEMBER_HEADINGS, key), shown(key, values.get(key, "")), todo))
    if bad:
        return None, bad
    return MemberRecord(**data), []


def _member_agrees(data: dict, values: dict[str, str], region: str) -> list[tuple[str, str]]:
    """Fields that are fine alone but disagree with the ID number, the desk's region or the scheme."""
    wrong = []
    certno = data.get("certno")
    if isinstance(certno, str):
        sex = "1" if int(certno[16]) % 2 else "2"
        born = f"{certno[6:10]}-{certno[10:12]}-{certno[12:14]}"
        if data.get("sex") not in (None, sex):
            wrong.append(("sex", f"与身份证号不符（身份证号为{'男' if sex == '1' else '女'}）：请核对，或留空"))
        if data.get("birth_date") not in (None, born):
            wrong.append(("birth_date", f"与身份证号不符（身份证号为 {born}）：请核对，或留空"))
        data["sex"], data["birth_date"] = sex, born
    if data.get("region") not in ("", region):
        wrong.append(("region", f"不是本机的统筹地区 {region}：请只导入本地区参保人，或留空"))
    data["region"] = region
    balance = data.get("account_balance")
    if data.get("scheme") == "pooling_only" and balance:
        wrong.append(("account_balance", "单建统筹没有个人账户：余额填 0 或留空"))
    if data.get("status") == "employed" and data.get("status_since"):
        wrong.append(("status_since", "在职人员不填退休日期：请留空，或把人员类别改为 退休"))
    return wrong


def member_cells(r: MemberRecord) -> tuple[str, ...]:
    """A member as the preview shows it (the ID number masked)."""
    return (
        r.psn_no,
        r.name,
        "男" if r.sex == "1" else "女",
        r.birth_date,
        mask_certno(r.certno),
        STATUS_NAMES[r.status],
        SCHEME_NAMES[r.scheme],
        "、".join(PROGRAMME_NAMES[p] for p in r.programmes),
        r.designated_facility or "",
        str(r.account_balance),
    )


MEMBER_PREVIEW = (
    "人员编号",
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "人员类别",
    "参保方式",
    "两病",
    "定点机构",
    "余额",
)


# ---------------------------------------------------------------- catalogue fields

CATEGORY_WORDS = {**{word: code for code, word in CATEGORY_NAMES.items()}, "甲": "A", "乙": "B", "丙": "C"}
_YES_NO_TEXT = {word: "1" if yes else "0" for word, yes in YES_NO.items()}
_MONEY = {"price": parse_amount, "price_cap": parse_amount, "selfpay_ratio": parse_ratio}


def catalogue_item(values: dict[str, str], row: int) -> tuple[CatalogueItem | None, list[BadRow]]:
    """One catalogue row, through the same parser as ``catalogue-import``; each amount named by its column."""
    values = dict(values)
    values["category"] = CATEGORY_WORDS.get(values.get("category", ""), values.get("category", "").upper())
    values["trac_required"] = _YES_NO_TEXT.get(values.get("trac_required", "").lower(), values.get("trac_required", ""))
    bad = []
    for key, parse in _MONEY.items():
        value = values.get(key, "")
        if value or key == "price":
            try:
                parse(value)
            except MoneyError as exc:
                todo = "必填，请补上" if not value else f"{exc.reason}（价格填元，如 12.50；比例填 0 到 1，如 0.1）"
                bad.append(BadRow(row, label(CATALOGUE_HEADINGS, key), value, todo))
    if bad:
        return None, bad
    try:
        return catalogue.parse_row(values, row), []
    except InputError as exc:
        key = str(exc.field).rsplit(" ", 1)[-1]  # catalogue.parse_row names "catalogue.csv 第 N 行 KEY"
        column = label(CATALOGUE_HEADINGS, key) if key in CATALOGUE_COLUMNS else "（整行）"
        return None, [BadRow(row, column, "" if exc.value is None else str(exc.value), exc.reason)]


def item_cells(item: CatalogueItem) -> tuple[str, ...]:
    return (
        item.code,
        item.name,
        CATEGORY_NAMES[item.category],
        str(item.selfpay_ratio),
        str(item.price),
        "" if item.price_cap is None else str(item.price_cap),
        item.unit,
        PROGRAMME_NAMES.get(item.programme or "", ""),
        item.item_kind,
        "是" if item.account_payable else "否",
        item.barcode or "",
        "是" if item.trac_required else "否",
        str(item.packs_per_unit),
    )


CATALOGUE_PREVIEW = (
    "编码",
    "名称",
    "类别",
    "自付比例",
    "价格",
    "限价",
    "单位",
    "两病",
    "项目类型",
    "个账可付",
    "条码",
    "追溯码管理",
    "包装数",
)


# ---------------------------------------------------------------- diagnoses (the platform's 1307 download)

DIAGNOSIS_COLUMNS = ("code", "name")
DIAGNOSIS_HEADINGS = {
    "code": ("诊断代码", "疾病诊断代码", "诊断编码", "diag_code"),
    "name": ("诊断名称", "疾病诊断名称", "diag_name"),
}
DIAGNOSIS_PREVIEW = ("诊断代码", "诊断名称")


def diagnosis(values: dict[str, str], row: int) -> tuple[Diagnosis | None, list[BadRow]]:
    """One row of the diagnosis catalogue: a 医保版 ICD-10 code and its name."""
    bad = []
    try:
        code = normalise_code(values.get("code", ""), "诊断代码")
    except InputError as exc:
        bad.append(BadRow(row, "诊断代码", values.get("code", ""), exc.reason))
    name = values.get("name", "")
    if not name or len(name) > 100:
        bad.append(BadRow(row, "诊断名称", name, "必填，最多 100 个字"))
    return (None, bad) if bad else (Diagnosis(code, name), [])


def diagnosis_cells(d: Diagnosis) -> tuple[str, ...]:
    return (d.code, d.name)
