"""The case to settle: facility, member, year-to-date usage, visit and items.

:func:`parse_case` turns the JSON case format (the `quote` command's input and
the golden tests' ``input``) into frozen dataclasses.  It is strict: an unknown
key, a missing required field or a bad value raises :class:`InputError` naming
the field path (``items[2].amount``) and the value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from typing import NamedTuple

from .diagnosis import MAX_PER_VISIT, normalise_code
from .errors import InputError
from .frozen import quick_init
from .money import ZERO, MoneyError, parse_amount, parse_ratio
from .vocabulary import CATEGORIES, FACILITY_KINDS, GRADES, LEVELS, PROGRAMMES, SCHEMES, STATUSES, TIERS


@dataclass(frozen=True)
class Facility:
    kind: str
    level: int | None = None
    grade: str | None = None
    tier: str | None = None
    id: str | None = None


@quick_init
@dataclass(frozen=True)
class Member:
    status: str
    scheme: str = "combined"
    programmes: frozenset[str] = frozenset()
    inpatient: bool = False
    designated_facility: str | None = None


@dataclass(frozen=True)
class Usage:
    """The member's year-to-date figures before this visit, in yuan."""

    deductible_paid: Decimal = ZERO
    pool_paid: Decimal = ZERO
    programme_paid: Mapping[str, Decimal] = field(default_factory=dict)

    def programme(self, name: str) -> Decimal:
        return self.programme_paid.get(name, ZERO)


@dataclass(frozen=True)
class Visit:
    emergency: bool = False
    referral: bool = False


class Item(NamedTuple):
    """One line of the visit, as the engine settles it.

    A named tuple, as :class:`~.settlement.ItemSplit` is: a quote makes one per line (the parser, with
    :data:`new_item`, in a third of the quickest frozen dataclass's time), and the engine reads each field of
    each once or twice (14 ns a field against 23 for a dataclass whose ``__dict__`` :mod:`.frozen` fills).
    """

    code: str
    name: str
    amount: Decimal
    category: str
    selfpay_ratio: Decimal = Decimal("0")
    programme: str | None = None
    quantity: Decimal = Decimal("1")
    unit_price: Decimal | None = None
    price_cap: Decimal | None = None
    item_kind: str = "drug"  # the catalogue's kind: the region may exclude some from the personal account
    account_payable: bool = True  # the catalogue's own flag


# An Item from a tuple of all eleven fields in order (the parser's, which has them all): the tuple's own __new__.
new_item = partial(tuple.__new__, Item)


@dataclass(frozen=True)
class PaymentFacts:
    """Who may pay the member's share: the balances and choices a desk would read (optional in a case)."""

    balance: Decimal
    use_account: bool = True
    family_payer: str | None = None
    # how the member stands to the payer, as family links store it ("parent": the payer's parent)
    family_relation: str | None = None
    family_balance: Decimal | None = None
    offline_fund: Decimal | None = None  # an offline desk's fund allowance for this visit


@dataclass(frozen=True)
class Case:
    region: str
    date: dt.date
    facility: Facility
    member: Member
    items: tuple[Item, ...]
    usage: Usage = field(default_factory=Usage)
    visit: Visit = field(default_factory=Visit)
    published: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    payment: PaymentFacts | None = None
    # The visit's diagnosis codes (医保版 ICD-10); None when the case does not state them (an older record), so
    # nothing is decided by them.  Stated, a 两病 item takes its programme only with a matching diagnosis.
    diagnoses: tuple[str, ...] | None = None


# --------------------------------------------------------------------------- parsing

_CASE_KEYS = {"region", "date", "facility", "member", "usage", "visit", "published", "items", "payment", "diagnoses"}
_PAYMENT_KEYS = {"balance", "use_account", "family", "offline_fund"}
_FAMILY_KEYS = {"payer", "relation", "balance"}
_FACILITY_KEYS = {"kind", "level", "grade", "tier", "id"}
_MEMBER_KEYS = {"status", "scheme", "programmes", "inpatient", "designated_facility"}
_USAGE_KEYS = {"deductible_paid", "pool_paid", "programme_paid"}
_VISIT_KEYS = {"emergency", "referral"}
_ITEM_KEYS = {
    "code",
    "name",
    "amount",
    "category",
    "selfpay_ratio",
    "programme",
    "quantity",
    "unit_price",
    "price_cap",
    "item_kind",
    "account_payable",
}


def parse_case(data: object) -> Case:
    """Parse and validate one case; raise :class:`InputError` on the first bad field."""
    obj = _mapping(data, "case", _CASE_KEYS, required=("region", "date", "facility", "member", "items"))
    region = _text(obj["region"], "region")
    date = _date(obj["date"], "date")
    facility = _facility(obj["facility"])
    member = _member(obj["member"])
    usage = _usage(obj.get("usage"))
    visit = parse_visit(obj.get("visit"))
    published = _published(obj.get("published"))
    items = _items(obj["items"])
    payment = _payment(obj.get("payment"))
    diagnoses = parse_diagnoses(obj.get("diagnoses"))
    return Case(region, date, facility, member, items, usage, visit, published, payment, diagnoses)


def parse_diagnoses(value: object) -> tuple[str, ...] | None:
    """A case's ``diagnoses``: a list of codes (at most MAX_PER_VISIT), or absent."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_PER_VISIT:
        raise InputError("diagnoses", value, f'须为诊断编码的列表（最多 {MAX_PER_VISIT} 个），如 ["I10.x00"]')
    return tuple(normalise_code(code, f"diagnoses[{i}]") for i, code in enumerate(value))


def _payment(value: object) -> PaymentFacts | None:
    if value is None:
        return None
    obj = _mapping(value, "payment", _PAYMENT_KEYS, required=("balance",))
    use_account = obj.get("use_account", True)
    if not isinstance(use_account, bool):
        raise InputError("payment.use_account", use_account, "须为 true 或 false")
    offline = (
        None if obj.get("offline_fund") is None else parse_amount_field(obj["offline_fund"], "payment.offline_fund")
    )
    facts = PaymentFacts(parse_amount_field(obj["balance"], "payment.balance"), use_account, offline_fund=offline)
    if obj.get("family") is None:
        return facts
    family = _mapping(obj["family"], "payment.family", _FAMILY_KEYS, required=("payer", "balance"))
    relation = family.get("relation")
    if relation is not None and not isinstance(relation, str):
        raise InputError("payment.family.relation", relation, "须为关系名称（spouse、child …）或省略")
    return replace(
        facts,
        family_payer=_text(family["payer"], "payment.family.payer"),
        family_relation=relation,
        family_balance=parse_amount_field(family["balance"], "payment.family.balance"),
    )


def _mapping(value: object, path: str, keys: set[str], required: tuple[str, ...] = ()) -> Mapping:
    if not isinstance(value, Mapping):
        raise InputError(path, value, "须为对象（JSON object）")
    for key in value:
        if key not in keys:
            raise InputError(
                f"{path}.{key}" if path != "case" else str(key),
                value[key],
                f"未知字段；可用字段：{', '.join(sorted(keys))}",
            )
    for key in required:
        if key not in value or value[key] is None:
            raise InputError(f"{path}.{key}" if path != "case" else key, None, "必填字段缺失")
    return value


def _text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(path, value, "须为非空字符串")
    return value.strip()


def _optional_text(value: object, path: str) -> str | None:
    return None if value is None else _text(value, path)


def _choice(value: object, path: str, choices: tuple) -> object:
    if value not in choices or isinstance(value, bool):
        raise InputError(path, value, f"取值须为 {' / '.join(map(str, choices))} 之一")
    return value


def _bool(value: object, path: str, default: bool = False) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InputError(path, value, "须为 true 或 false")
    return value


def _date(value: object, path: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise InputError(path, value, "须为日期 YYYY-MM-DD（不含时间）")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(path, value, "须为日期 YYYY-MM-DD")


def parse_amount_field(value: object, path: str) -> Decimal:
    """An amount in yuan for the field ``path``; :class:`InputError` naming it if bad."""
    try:
        return parse_amount(value)
    except MoneyError as exc:
        raise InputError(path, value, exc.reason) from None


def _ratio(value: object, path: str) -> Decimal:
    try:
        return parse_ratio(value)
    except MoneyError as exc:
        raise InputError(path, value, exc.reason) from None


def _facility(value: object) -> Facility:
    obj = _mapping(value, "facility", _FACILITY_KEYS, required=("kind",))
    kind = _choice(obj["kind"], "facility.kind", FACILITY_KINDS)
    level = obj.get("level")
    if level is not None:
        level = _choice(level, "facility.level", LEVELS)
    elif kind != "pharmacy":
        raise InputError("facility.level", None, "医疗机构须填写级别 1 / 2 / 3（1 = 一级及以下）")
    grade = obj.get("grade")
    if grade is not None:
        grade = _choice(grade, "facility.grade", GRADES)
    tier = obj.get("tier")
    if tier is not None:
        tier = _choice(tier, "facility.tier", TIERS)
    return Facility(kind, level, grade, tier, _optional_text(obj.get("id"), "facility.id"))


def _member(value: object) -> Member:
    obj = _mapping(value, "member", _MEMBER_KEYS, required=("status",))
    status = _choice(obj["status"], "member.status", STATUSES)
    scheme = _choice(obj.get("scheme", "combined"), "member.scheme", SCHEMES)
    programmes_raw = obj.get("programmes") or []
    if not isinstance(programmes_raw, list):
        raise InputError("member.programmes", programmes_raw, '须为列表，如 ["hypertension"]')
    programmes = frozenset(_choice(p, f"member.programmes[{i}]", PROGRAMMES) for i, p in enumerate(programmes_raw))
    return Member(
        status=status,
        scheme=scheme,
        programmes=programmes,
        inpatient=_bool(obj.get("inpatient"), "member.inpatient"),
        designated_facility=_optional_text(obj.get("designated_facility"), "member.designated_facility"),
    )


def _usage(value: object) -> Usage:
    if value is None:
        return Usage()
    obj = _mapping(value, "usage", _USAGE_KEYS)
    programme_paid: dict[str, Decimal] = {}
    raw = obj.get("programme_paid") or {}
    if not isinstance(raw, Mapping):
        raise InputError("usage.programme_paid", raw, '须为对象，如 {"hypertension": "0.00"}')
    for name, amount in raw.items():
        _choice(name, f"usage.programme_paid.{name}", PROGRAMMES)
        programme_paid[name] = parse_amount_field(amount, f"usage.programme_paid.{name}")
    return Usage(
        deductible_paid=parse_amount_field(obj.get("deductible_paid", "0"), "usage.deductible_paid"),
        pool_paid=parse_amount_field(obj.get("pool_paid", "0"), "usage.pool_paid"),
        programme_paid=programme_paid,
    )


def parse_visit(value: object) -> Visit:
    """The visit flags (emergency, referral); absent means neither."""
    if value is None:
        return Visit()
    obj = _mapping(value, "visit", _VISIT_KEYS)
    return Visit(_bool(obj.get("emergency"), "visit.emergency"), _bool(obj.get("referral"), "visit.referral"))


def _published(value: object) -> dict[str, dict[str, Decimal]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError("published", value, "须为对象：{名称: {年份: 数值}}")
    result: dict[str, dict[str, Decimal]] = {}
    for name, by_year in value.items():
        if not isinstance(by_year, Mapping):
            raise InputError(f"published.{name}", by_year, "须为对象：{年份: 数值}")
        result[str(name)] = {}
        for year, figure in by_year.items():
            path = f"published.{name}.{year}"
            if not (isinstance(year, (str, int)) and str(year).isdigit() and len(str(year)) == 4):
                raise InputError(path, year, "年份须为四位数字")
            # The unit (yuan or ratio) is checked against the rule that declares the figure.
            result[str(name)][str(year)] = _number(figure, path, positive=False)
    return result


def _items(value: object) -> tuple[Item, ...]:
    if not isinstance(value, list):
        raise InputError("items", value, "须为列表")
    if not value:
        raise InputError("items", value, "至少需要一个项目")
    return tuple(_item(raw, i) for i, raw in enumerate(value))


_ONE = Decimal("1")
_NO_RATIO = Decimal("0")
_CENT = Decimal("0.01")
_ITEM_REQUIRED = ("code", "name", "category")


def _item(obj: object, i: int) -> Item:
    """``items[i]``.  A visit has dozens of these, so a field's path (``items[3].amount``) is written only for its
    error, and what every item has (a dict of known keys, text, a category) is checked the quick way first."""
    if (
        type(obj) is not dict
        or not _ITEM_KEYS.issuperset(obj)
        or obj.get("code") is None
        or obj.get("name") is None
        or obj.get("category") is None
    ):
        obj = _mapping(obj, f"items[{i}]", _ITEM_KEYS, required=_ITEM_REQUIRED)  # the error, or an odd Mapping
    category = obj["category"]
    if category not in CATEGORIES or isinstance(category, bool):
        _choice(category, f"items[{i}].category", CATEGORIES)
    raw = obj.get("quantity")
    quantity = _ONE if raw is None else _number(raw, f"items[{i}].quantity", positive=True)
    raw = obj.get("unit_price")
    unit_price = None if raw is None else _amount(raw, i, "unit_price")
    raw = obj.get("amount")
    if raw is not None:
        amount = _amount(raw, i, "amount")
        if unit_price is not None and quantity * unit_price != amount:
            raise InputError(f"items[{i}].amount", raw, f"与 数量 × 单价 = {quantity * unit_price} 不符")
    elif unit_price is not None:
        amount = quantity * unit_price
        if amount != amount.quantize(_CENT):
            raise InputError(f"items[{i}].quantity", obj.get("quantity"), "数量 × 单价 不是整分金额")
        amount = amount.quantize(_CENT)
    else:
        raise InputError(f"items[{i}].amount", None, "必填字段缺失（或同时给出 quantity 与 unit_price）")

    raw = obj.get("selfpay_ratio")
    if category == "B":
        if raw is None:
            raise InputError(f"items[{i}].selfpay_ratio", None, "乙类项目须给出先行自付比例 selfpay_ratio")
        selfpay_ratio = _ratio(raw, f"items[{i}].selfpay_ratio")
    else:
        selfpay_ratio = _NO_RATIO
        if raw not in (None, "0", "0.00", 0):
            raise InputError(f"items[{i}].selfpay_ratio", raw, "只有乙类（B）项目有先行自付比例")

    programme = obj.get("programme")
    if programme is not None and (programme not in PROGRAMMES or isinstance(programme, bool)):
        _choice(programme, f"items[{i}].programme", PROGRAMMES)

    price_cap = obj.get("price_cap")
    if price_cap is not None:
        price_cap = _amount(price_cap, i, "price_cap")
        if price_cap * quantity != (price_cap * quantity).quantize(_CENT):
            raise InputError(f"items[{i}].price_cap", obj["price_cap"], "限价 × 数量 不是整分金额")
    account_payable = obj.get("account_payable", True)
    if account_payable is not True and account_payable is not False:
        raise InputError(f"items[{i}].account_payable", account_payable, "须为 true 或 false")
    return new_item(
        (
            _item_text(obj["code"], i, "code"),
            _item_text(obj["name"], i, "name"),
            amount,
            category,
            selfpay_ratio,
            programme,
            quantity,
            unit_price,
            price_cap,
            _item_text(obj.get("item_kind", "drug"), i, "item_kind"),
            account_payable,
        )
    )


def _item_text(value: object, i: int, key: str) -> str:
    """A text field of ``items[i]``, stripped; :class:`InputError` naming it if not a non-empty string."""
    if type(value) is str:
        text = value.strip()
        if text:
            return text
    return _text(value, f"items[{i}].{key}")


def _amount(value: object, i: int, key: str) -> Decimal:
    """An amount field of ``items[i]`` (see :func:`parse_amount_field`), its path written only for an error."""
    try:
        return parse_amount(value)
    except MoneyError as exc:
        raise InputError(f"items[{i}].{key}", value, exc.reason) from None


def _number(value: object, path: str, *, positive: bool) -> Decimal:
    """A finite non-negative number (positive if asked), any precision, never a float."""
    if isinstance(value, (bool, float)) or not isinstance(value, (str, int, Decimal)):
        raise InputError(path, value, "须为字符串或整数形式的数字（不接受浮点数）")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except ArithmeticError:
        raise InputError(path, value, "不是数字") from None
    if not result.is_finite() or result < 0 or (positive and result == 0):
        raise InputError(path, value, "须为正数" if positive else "不能为负数")
    return result
