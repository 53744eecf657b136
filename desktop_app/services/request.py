"""Reading a checkout request at the counter: its items against the catalogue, the visit's date, the payer;
and remembering it: its request ID (a retry returns the first settlement) and the form the journal keeps.

Each function takes what arrived (a JSON case from the CLI, the window's cart) and returns checked values,
or raises :class:`InputError` naming the field and the value.  The bounds a desk may settle are here.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from ..domain.case import Case, Facility, parse_amount_field
from ..domain.catalogue import CatalogueItem, cashier_ceiling
from ..domain.diagnosis import MAX_PER_VISIT as MAX_DIAGNOSES_PER_VISIT
from ..domain.diagnosis import Diagnosis, normalise_code
from ..domain.errors import InputError
from ..domain.identity import mask_certno
from ..domain.member import MemberRecord, parse_prescription
from ..domain.money import fmt
from ..policy.payment import Accounts, PayerChoice
from ..store import catalogue, members
from ..store import diagnoses as diagnosis_store

# Bounds on what a desk may settle (a price typed over the catalogue's is bounded as well).
MAX_UNIT_PRICE = Decimal("100000.00")
MAX_QUANTITY = Decimal("9999")
MAX_VISIT_TOTAL = Decimal("1000000.00")
# A visit settled late: this year, or last year's until 31 March (Yunfu art. 21 sets this deadline for claims).
LATE_CLAIM_UNTIL = (3, 31)


ITEM_KEYS = {"code", "quantity", "unit_price", "trace_codes", "trace_waiver"}


@dataclass(frozen=True)
class Override:
    """A price typed above the catalogue's price or its cap, on one line."""

    code: str
    name: str
    catalogue_price: Decimal
    price: Decimal


def items(conn: sqlite3.Connection, raw: object) -> tuple[list[tuple[dict, CatalogueItem]], list[Override]]:
    """Catalogue lines -> (engine item, the catalogue item it came from), and the prices typed above the catalogue's."""
    if not isinstance(raw, list) or not raw:
        raise InputError("items", raw, '至少需要一个项目：[{"code": 目录编码, "quantity": 数量}]')
    if len(raw) > 500:
        raise InputError("items", f"{len(raw)} 项", "一次结算最多 500 项")
    result, overrides = [], []
    # Every line's item in one statement; a line whose code is not even text is refused below, in its turn.
    codes = [str(line["code"]) for line in raw if isinstance(line, dict) and isinstance(line.get("code"), (str, int))]
    found = catalogue.get_many(conn, codes)
    for i, line in enumerate(raw):
        path = f"items[{i}]"
        if not isinstance(line, dict) or "code" not in line or set(line) - ITEM_KEYS:
            raise InputError(
                path,
                line,
                "须为 {code, quantity, unit_price?, trace_codes?, trace_waiver?}；名称、类别、比例由医保目录决定",
            )
        if not isinstance(line["code"], (str, int)) or isinstance(line["code"], bool):
            raise InputError(f"{path}.code", line["code"], "须为目录编码或条码")
        item = found.get(str(line["code"]))
        if item is None:
            raise InputError(f"{path}.code", line["code"], "医保目录中没有该项目（编码或条码）")
        quantity = parse_quantity(line.get("quantity", 1), f"{path}.quantity")
        price = None
        if line.get("unit_price") is not None:
            price = parse_amount_field(line["unit_price"], f"{path}.unit_price")
            if price > MAX_UNIT_PRICE:
                raise InputError(f"{path}.unit_price", line["unit_price"], f"单价不能超过 {fmt(MAX_UNIT_PRICE)} 元")
            ceiling = cashier_ceiling(item.price, item.price_cap)
            if price > ceiling:
                overrides.append(Override(item.code, item.name, ceiling, price))
        result.append((item.visit_line(quantity, price), item))
    return result, overrides


def parse_quantity(value: object, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InputError(path, value, "须为正数（整数或字符串，不接受浮点数）")
    try:
        quantity = Decimal(str(value).strip())
    except ArithmeticError:
        raise InputError(path, value, "不是数字") from None
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY:
        raise InputError(path, value, f"须为 0 到 {MAX_QUANTITY} 之间的正数")
    return str(value).strip()


def visit_date(raw: object, today: dt.date) -> tuple[dt.date, bool]:
    """(the visit's date, settled late?): the desk's today, or an earlier day of the claim window."""
    if raw is None:
        return today, False
    if not isinstance(raw, str):
        raise InputError("date", raw, "须为日期 YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise InputError("date", raw, "不是有效日期（YYYY-MM-DD）") from None
    if day > today:
        raise InputError("date", raw, f"就诊日期不能晚于今天（{today.isoformat()}）")
    if day == today:
        return day, False
    month, last = LATE_CLAIM_UNTIL
    if not (day.year == today.year or (day.year == today.year - 1 and today <= dt.date(today.year, month, last))):
        raise InputError(
            "date", raw, f"超出补结算期限：上一年度的就诊须在 {month} 月 {last} 日前结算（云浮 第二十一条）"
        )
    return day, True


def facility_dict(facility: Facility) -> dict:
    return {k: v for k, v in vars(facility).items() if v is not None}


def prescription(case: Case, rules, raw: object):
    """外配处方: required where the region's rules say a pooled sale needs one (``prescription_facility_kinds``)."""
    required = rules.get("prescription_facility_kinds")
    in_pooling = case.facility.kind in rules["pooling_facility_kinds"].value
    if required is not None and case.facility.kind in required.value and in_pooling:
        return parse_prescription(raw, case.date)
    return None if raw is None else parse_prescription(raw, case.date)


def diagnoses(conn: sqlite3.Connection, raw: object, facility_kind: str, rx) -> tuple[Diagnosis, ...]:
    """The visit's diagnoses, each from the catalogue (a clinic settles only with one: :func:`require_diagnosis`);
    at a pharmacy, the 外配处方's.

    A pharmacy's prescription names its diagnosis in words (or a code); one the catalogue does not know is kept
    as written, with no code (it then decides nothing).
    """
    if raw is None or raw == []:
        if facility_kind != "pharmacy":
            return ()  # quoted without: the settlement is refused (require_diagnosis)
        if rx is None or not rx.diagnosis.strip():
            return ()
        text = rx.diagnosis.strip()
        found = diagnosis_store.get(conn, text[:1].upper() + text[1:]) or diagnosis_store.by_name(conn, text)
        return (found or Diagnosis("", text[:100]),)
    if not isinstance(raw, list) or len(raw) > MAX_DIAGNOSES_PER_VISIT:
        raise InputError("diagnoses", raw, f"须为诊断编码的列表，最多 {MAX_DIAGNOSES_PER_VISIT} 个")
    found = []
    for i, value in enumerate(raw):
        code = normalise_code(value, f"diagnoses[{i}]")
        diagnosis = diagnosis_store.get(conn, code)
        if diagnosis is None:
            raise InputError(f"diagnoses[{i}]", code, "诊断目录中没有该编码：请按编码、名称或拼音首字母重新查找")
        if diagnosis in found:
            raise InputError(f"diagnoses[{i}]", code, "同一诊断录入了两次")
        found.append(diagnosis)
    return tuple(found)


def require_diagnosis(diagnoses: tuple[Diagnosis, ...], facility_kind: str) -> None:
    """A clinic's visit is settled only with a diagnosis (a pharmacy's comes with its prescription)."""
    if not diagnoses and facility_kind != "pharmacy":
        raise InputError("diagnoses", None, "门诊结算须录入诊断：按 Ctrl+D，输入诊断编码、名称或拼音首字母")


def payer_choice(raw: object) -> PayerChoice:
    raw = {} if raw is None else raw
    if not isinstance(raw, dict) or set(raw) - {"use_account", "family_payer"}:
        raise InputError("payment", raw, "须为 {use_account: true/false, family_payer: 人员编号}")
    use_account = raw.get("use_account", True)
    if not isinstance(use_account, bool):
        raise InputError("payment.use_account", use_account, "须为 true 或 false")
    payer = raw.get("family_payer")
    if payer is not None and not isinstance(payer, str):
        raise InputError("payment.family_payer", payer, "须为人员编号")
    return PayerChoice(use_account, payer)


def accounts(conn: sqlite3.Connection, member: MemberRecord, choice: PayerChoice) -> Accounts:
    """This desk's balances and the payer's relation, from the local cache."""
    payer = choice.family_payer
    if payer is None or payer == member.psn_no:
        return Accounts(member.psn_no, member.scheme, member.account_balance)
    owner = members.get(conn, payer)
    if owner is None:
        raise InputError("payment.family_payer", payer, "本地缓存中没有该人员编号")
    return Accounts(
        member.psn_no,
        member.scheme,
        member.account_balance,
        owner.account_balance,
        members.relation(conn, payer, member.psn_no),
        owner.name,
    )


# --------------------------------------------------------------------------- the request, remembered


def request_id(data: object) -> str | None:
    """The caller's request ID, which makes a retried checkout return its first settlement."""
    value = data.get("request_id") if isinstance(data, dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 100 or not value.isprintable():
        raise InputError("request_id", value, "须为 1 到 100 个字符的请求编号")
    return value


def stored_form(data: object) -> str:
    """What the journal keeps of the request: the ID number masked (the member record keeps it whole)."""
    if (
        isinstance(data, dict)
        and isinstance(data.get("member"), dict)
        and isinstance(data["member"].get("certno"), str)
    ):
        data = {**data, "member": {**data["member"], "certno": mask_certno(data["member"]["certno"])}}
    return json.dumps(data, ensure_ascii=False, default=str, sort_keys=True)


def first_answer(conn: sqlite3.Connection, request_id: str | None, stored: str) -> dict | None:
    """A retried request's first settlement (marked repeated); a request ID reused for another request is refused."""
    if request_id is None:
        return None
    first = conn.execute(
        "SELECT s.input_json, s.output_json FROM checkout_requests r JOIN settlements s "
        "ON s.uuid = r.uuid WHERE r.request_id = ?",
        (request_id,),
    ).fetchone()
    if first is None:
        return None
    if first[0] != stored:
        raise InputError("request_id", request_id, "已用于另一笔不同的结算；每笔结算请用新的 request_id")
    return {**json.loads(first[1]), "repeated": True}


def remember(conn: sqlite3.Connection, request_id: str | None, uuid: str, rx) -> None:
    """The request ID (so a retry finds this settlement) and the prescription it was sold on."""
    if request_id is not None:
        conn.execute("INSERT INTO checkout_requests VALUES (?, ?)", (request_id, uuid))
    if rx is not None:
        conn.execute(
            "INSERT INTO prescriptions VALUES (?, ?, ?, ?, ?, ?, ?)",
            (uuid, rx.institution, rx.doctor, rx.issued.isoformat(), rx.number, rx.diagnosis, rx.valid_days),
        )
