"""Checkout at the counter: find the member, quote from the cache, pay, confirm, refund.

No Qt.  :func:`confirm` does all its work in one ``BEGIN IMMEDIATE`` transaction:
the journal entry, the usage counters, the account movements, the prescription,
the audit entry and the outbox row are written together or not at all.  The
quote is recomputed inside that transaction, so two desks sharing a file cannot
both spend the same cap.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid as uuidlib
from dataclasses import dataclass
from decimal import Decimal

import sqlite_utils

from ..domain.case import Case, Facility, Member, parse_amount_field, parse_case, parse_visit
from ..domain.errors import InputError
from ..domain.catalogue import cashier_ceiling
from ..domain.clock import now_iso
from ..domain.identity import mask_certno, validate_certno
from ..domain.member import MemberRecord, parse_prescription
from ..domain.money import ZERO, fmt
from ..domain.settlement import Settlement
from ..domain.vocabulary import AMOUNTS
from ..policy.payment import Accounts, PayerChoice, Payment
from ..policy.visit import journal_figures, settle_visit
from ..resources import rules_dir
from ..store import audit, catalogue, config, journal, members, operators
from . import offline
from ..store.db import transaction
from ..rule_files import cached_region

_CHECKOUT_KEYS = {"date", "member", "visit", "items", "payment", "prescription", "request_id"}
_FROM_SETTINGS = {"region": "统筹地区", "facility": "本机构"}
# Bounds on what a desk may settle (a price typed over the catalogue's is bounded as well).
MAX_UNIT_PRICE = Decimal("100000.00")
MAX_QUANTITY = Decimal("9999")
MAX_VISIT_TOTAL = Decimal("1000000.00")
# A visit settled late: this year, or last year's until 31 March (Yunfu art. 21 sets this deadline for claims).
LATE_CLAIM_UNTIL = (3, 31)


@dataclass(frozen=True)
class Approval:
    """A supervisor's authorisation, given at that moment: checked inside the settlement's own transaction."""

    supervisor: str
    password: str
    reason: str


@dataclass(frozen=True)
class Override:
    """A price typed above the catalogue's price or its cap, on one line."""

    code: str
    name: str
    catalogue_price: Decimal
    price: Decimal


@dataclass(frozen=True)
class Quote:
    member: MemberRecord
    case: Case
    settlement: Settlement
    payment: Payment
    prescription: object | None
    overrides: tuple[Override, ...] = ()
    late: bool = False  # a visit of an earlier day, settled today

    @property
    def needs_approval(self) -> tuple[str, ...]:
        """What a supervisor must authorise before this can be confirmed."""
        why = [f"{o.name} 单价 {fmt(o.price)} 高于目录价 {fmt(o.catalogue_price)}" for o in self.overrides]
        if self.late:
            why.append(f"补结算 {self.case.date.isoformat()} 的就诊")
        return tuple(why)


# --------------------------------------------------------------------------- lookup


def find_member(conn: sqlite3.Connection, ref: object, field: str = "member") -> MemberRecord:
    """By ``{"psn_no": …}`` or ``{"certno": …}``; a clear error when not found."""
    if not isinstance(ref, dict) or len(ref) != 1 or not ({"psn_no", "certno"} & set(ref)):
        raise InputError(field, ref, "须为 {\"psn_no\": 人员编号} 或 {\"certno\": 身份证号}")
    if "certno" in ref:
        certno = validate_certno(ref["certno"], f"{field}.certno")
        record = members.by_certno(conn, certno)
        if record is None:
            raise InputError(f"{field}.certno", mask_certno(certno), "本地缓存中没有该参保人；请联网查询或核对证件")
        return record
    psn_no = ref["psn_no"]
    record = members.get(conn, psn_no) if isinstance(psn_no, str) else None
    if record is None:
        raise InputError(f"{field}.psn_no", psn_no, "本地缓存中没有该人员编号")
    return record


def lookup(conn: sqlite3.Connection, text: str, limit: int = 20) -> list[MemberRecord]:
    """What the member box does with whatever was typed or scanned: ID number, psn_no, or a name."""
    text = text.strip()
    if not text:
        return []
    if len(text) == 18 and text[:17].isdigit():
        record = members.by_certno(conn, validate_certno(text))
        return [record] if record else []
    if text.isdigit():
        record = members.get(conn, text)
        return [record] if record else []
    return members.search_name(conn, text, limit)


# --------------------------------------------------------------------------- quoting


def _items(conn: sqlite3.Connection, raw: object) -> tuple[list[tuple[dict, catalogue.CatalogueItem]], list[Override]]:
    """Catalogue lines -> (engine item, the catalogue item it came from), and the prices typed above the catalogue's."""
    if not isinstance(raw, list) or not raw:
        raise InputError("items", raw, "至少需要一个项目：[{\"code\": 目录编码, \"quantity\": 数量}]")
    if len(raw) > 500:
        raise InputError("items", f"{len(raw)} 项", "一次结算最多 500 项")
    result, overrides = [], []
    for i, line in enumerate(raw):
        path = f"items[{i}]"
        if not isinstance(line, dict) or "code" not in line or set(line) - {"code", "quantity", "unit_price"}:
            raise InputError(path, line, "须为 {code, quantity, unit_price?}；名称、类别、比例由医保目录决定")
        if not isinstance(line["code"], (str, int)) or isinstance(line["code"], bool):
            raise InputError(f"{path}.code", line["code"], "须为目录编码或条码")
        item = catalogue.get(conn, str(line["code"]))
        if item is None:
            raise InputError(f"{path}.code", line["code"], "医保目录中没有该项目（编码或条码）")
        quantity = _quantity(line.get("quantity", 1), f"{path}.quantity")
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


def _quantity(value: object, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InputError(path, value, "须为正数（整数或字符串，不接受浮点数）")
    try:
        quantity = Decimal(str(value).strip())
    except ArithmeticError:
        raise InputError(path, value, "不是数字") from None
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY:
        raise InputError(path, value, f"须为 0 到 {MAX_QUANTITY} 之间的正数")
    return str(value).strip()


def _visit_date(raw: object, today: dt.date) -> tuple[dt.date, bool]:
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
        raise InputError("date", raw, f"超出补结算期限：上一年度的就诊须在 {month} 月 {last} 日前结算（云浮 第二十一条）")
    return day, True


def build_quote(conn: sqlite3.Connection, data: object, today: dt.date | None = None) -> Quote:
    """Everything about a checkout except writing it."""
    if not isinstance(data, dict):
        raise InputError("case", data, "须为 JSON 对象")
    for key, what in _FROM_SETTINGS.items():
        if key in data:
            raise InputError(key, data[key], f"{what}由本机设置决定（主管在设置 F8 中录入），结算单不能指定")
    unknown = set(data) - _CHECKOUT_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(key, data[key], f"未知字段；可用字段：{', '.join(sorted(_CHECKOUT_KEYS))}")
    member = find_member(conn, data.get("member"))
    region = config.region(conn)
    if member.region != region:
        raise InputError("member", member.psn_no, f"参保人属于 {member.region}，本机按 {region} 结算；异地就医请走异地结算")
    day, late = _visit_date(data.get("date"), today or dt.date.today())
    facility = _facility_dict(config.facility(conn))
    lines, overrides = _items(conn, data.get("items"))
    engine_items = [line for line, _ in lines]
    probe = parse_case({"region": region, "date": day.isoformat(), "facility": facility,
                        "member": {"status": member.status}, "items": engine_items})
    if sum((i.amount for i in probe.items), ZERO) > MAX_VISIT_TOTAL:
        raise InputError("items", f"合计 {fmt(sum((i.amount for i in probe.items), ZERO))}",
                         f"一次就诊的医疗费总额不能超过 {fmt(MAX_VISIT_TOTAL)} 元，请核对数量与单价")
    usage = journal.usage(conn, member.psn_no, probe.date.year)
    case = Case(
        region=region, date=probe.date, facility=probe.facility,
        member=Member(member.status, member.scheme, frozenset(member.programmes),
                      members.inpatient_on(conn, member.psn_no, probe.date), member.designated_facility),
        items=probe.items, usage=usage, visit=parse_visit(data.get("visit")),
        published=config.published(conn, region),
    )
    rules = cached_region(region, str(rules_dir())).at(case.date)
    prescription = _prescription(case, rules, data.get("prescription"))
    choice = _choice(data.get("payment"))
    outcome = settle_visit(case, rules, [item for _, item in lines], _accounts(conn, member, choice), choice,
                           offline.allowance(conn, member.psn_no))
    return Quote(member, case, outcome.settlement, outcome.payment, prescription, tuple(overrides), late)


def _facility_dict(facility: Facility) -> dict:
    return {k: v for k, v in vars(facility).items() if v is not None}


def _prescription(case: Case, rules, raw: object):
    """外配处方: required where the region's rules say a pooled sale needs one (``prescription_facility_kinds``)."""
    required = rules.get("prescription_facility_kinds")
    in_pooling = case.facility.kind in rules["pooling_facility_kinds"].value
    if required is not None and case.facility.kind in required.value and in_pooling:
        return parse_prescription(raw, case.date)
    return None if raw is None else parse_prescription(raw, case.date)


def _choice(raw: object) -> PayerChoice:
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


def _accounts(conn: sqlite3.Connection, member: MemberRecord, choice: PayerChoice) -> Accounts:
    """This desk's balances and the payer's relation, from the local cache."""
    payer = choice.family_payer
    if payer is None or payer == member.psn_no:
        return Accounts(member.psn_no, member.scheme, member.account_balance)
    owner = members.get(conn, payer)
    if owner is None:
        raise InputError("payment.family_payer", payer, "本地缓存中没有该人员编号")
    return Accounts(member.psn_no, member.scheme, member.account_balance, owner.account_balance,
                    members.relation(conn, payer, member.psn_no), owner.name)


def quote_dict(q: Quote) -> dict:
    out = q.settlement.to_dict()
    out.update({"psn_no": q.member.psn_no, "psn_name": q.member.name, **q.payment.to_dict()})
    return out


# --------------------------------------------------------------------------- confirm and refund


def device_id(conn: sqlite3.Connection) -> str:
    value = config.get(conn, "device.id")
    if value is None:
        raise InputError("settings.device.id", None, "本机没有设备编号（数据库未初始化）")
    return value


def confirm(db: sqlite_utils.Database, data: object, operator: str, today: dt.date | None = None,
            at: str | None = None, *, password: str | None = None, approval: Approval | None = None) -> dict:
    """Settle and commit; returns the settlement with its UUID and payment split.

    ``password`` is the operator's, where the caller has not logged them in (the command line); the
    window's operator logged in at the start.  ``approval`` is a supervisor's, needed for a price above
    the catalogue's and for a visit of an earlier day; it is checked here, in the settlement's own
    transaction, and audited with its reason.  A ``request_id`` in ``data`` makes a retry return the
    first settlement instead of settling again.
    """
    with transaction(db) as conn:
        if password is not None:
            operators.authenticate(conn, operator, password)
        elif operators.role_of(conn, operator) is None:
            raise operators.AuthError(f"没有登记的操作员 {operator!r}：请以本机操作员登录后结算")
        request_id = _request_id(data)
        stored = _input_json(data)
        if request_id is not None:
            first = conn.execute("SELECT s.input_json, s.output_json FROM checkout_requests r JOIN settlements s "
                                 "ON s.uuid = r.uuid WHERE r.request_id = ?", (request_id,)).fetchone()
            if first is not None:
                if first[0] != stored:
                    raise InputError("request_id", request_id, "已用于另一笔不同的结算；每笔结算请用新的 request_id")
                return {**json.loads(first[1]), "repeated": True}
        q = build_quote(conn, data, today)
        notes = _approve(conn, q, approval)
        created = at or now_iso()
        out = quote_dict(q)
        out.update({"uuid": str(uuidlib.uuid4()), "kind": "settlement", "created_at": created,
                    "operator": operator, "device": device_id(conn), "offline": True})
        out["warnings"] = [*out.get("warnings", []), *notes]
        for item in out["items"]:
            override = next((o for o in q.overrides if o.code == item["code"]), None)
            if override is not None:
                item["catalogue_pric"] = fmt(override.catalogue_price)
        s, p = q.settlement, q.payment
        entry = journal.Entry(
            uuid=out["uuid"], kind="settlement", original_uuid=None, psn_no=q.member.psn_no, year=q.case.date.year,
            visit_date=q.case.date.isoformat(), region=q.case.region, facility_id=q.case.facility.id,
            operator=operator, device=out["device"], created_at=created, family_payer=p.family_payer,
            **journal_figures(s, p), input_json=stored, output_json=json.dumps(out, ensure_ascii=False))
        journal.record(conn, entry)
        if request_id is not None:
            conn.execute("INSERT INTO checkout_requests VALUES (?, ?)", (request_id, entry.uuid))
        if q.prescription is not None:
            rx = q.prescription
            conn.execute("INSERT INTO prescriptions VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (entry.uuid, rx.institution, rx.doctor, rx.issued.isoformat(), rx.number, rx.diagnosis, rx.valid_days))
        audit.append(conn, created, operator, "settle", entry.uuid,
                     {"psn_no": entry.psn_no, "medfee_sumamt": out["medfee_sumamt"], "hifp_pay": out["hifp_pay"],
                      "acct_pay": out["acct_pay"], "acct_mulaid_pay": out["acct_mulaid_pay"], "psn_cash_pay": out["psn_cash_pay"]})
        for o in q.overrides:
            audit.append(conn, created, approval.supervisor, "price_override", entry.uuid,
                         {"code": o.code, "catalogue_price": fmt(o.catalogue_price), "price": fmt(o.price),
                          "cashier": operator, "reason": approval.reason})
        if q.late:
            audit.append(conn, created, approval.supervisor, "late_visit", entry.uuid,
                         {"visit_date": q.case.date.isoformat(), "cashier": operator, "reason": approval.reason})
    return out


def authorise(conn: sqlite3.Connection, approval: Approval, action: str) -> Approval:
    """The supervisor's password is right and a reason is given; :class:`AuthError` or :class:`InputError` if not."""
    operators.require_supervisor(conn, approval.supervisor, approval.password, action)
    if not isinstance(approval.reason, str) or not approval.reason.strip():
        raise InputError("reason", approval.reason, "主管授权须说明原因")
    return approval


def _request_id(data: object) -> str | None:
    value = data.get("request_id") if isinstance(data, dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 100 or not value.isprintable():
        raise InputError("request_id", value, "须为 1 到 100 个字符的请求编号")
    return value


def _input_json(data: object) -> str:
    """What the journal keeps of the request: the ID number masked (the member record keeps it whole)."""
    if isinstance(data, dict) and isinstance(data.get("member"), dict) and isinstance(data["member"].get("certno"), str):
        data = {**data, "member": {**data["member"], "certno": mask_certno(data["member"]["certno"])}}
    return json.dumps(data, ensure_ascii=False, default=str, sort_keys=True)


def _approve(conn: sqlite3.Connection, q: Quote, approval: Approval | None) -> list[str]:
    """Check the supervisor's authorisation where the quote needs one; the lines it puts on the receipt."""
    if not q.needs_approval:
        return []
    if approval is None:
        raise operators.AuthError("；".join(q.needs_approval) + "：需要主管当场授权（主管、密码与原因）")
    authorise(conn, approval, "改价或补结算")
    return [f"{why}：主管 {approval.supervisor} 授权，原因：{approval.reason.strip()}" for why in q.needs_approval]


def refund(db: sqlite_utils.Database, uuid: str, operator: str, password: str, at: str | None = None) -> dict:
    """The reversal of a settlement, authorised by a supervisor; at most one per original."""
    with transaction(db) as conn:
        operators.require_supervisor(conn, operator, password, "退费")
        original = journal.get(conn, uuid)
        if original is None:
            raise InputError("uuid", uuid, "没有这笔结算")
        if original.kind == "refund":
            raise InputError("uuid", uuid, f"这是一笔退费记录（原结算 {original.original_uuid}），不能再退费")
        existing = journal.refund_of(conn, uuid)
        if existing:
            raise InputError("uuid", uuid, f"这笔结算已于退费单 {existing} 退费，不能重复退费")
        created = at or now_iso()
        new_uuid = str(uuidlib.uuid4())
        neg = {f: -getattr(original, f) for f in ("medfee_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay",
                                                  "psn_cash_pay", "deductible", "pool", "programme_hypertension",
                                                  "programme_diabetes")}
        source = journal.output(original)
        out = {"uuid": new_uuid, "kind": "refund", "original_uuid": uuid, "created_at": created, "operator": operator,
               "device": device_id(conn), "psn_no": original.psn_no, "psn_name": source.get("psn_name"),
               "region": original.region, "date": original.visit_date, "offline": True,
               **{k: fmt(Decimal(v) / 100) for k, v in neg.items()}, "family_payer": original.family_payer,
               "items": source.get("items", [])}
        out["balc"] = fmt(members.balance(conn, original.psn_no) + Decimal(original.acct_pay) / 100)
        out.update(_usage_after_refund(conn, original, source.get("annual_cap")))
        entry = journal.Entry(uuid=new_uuid, kind="refund", original_uuid=uuid, psn_no=original.psn_no,
                              year=original.year, visit_date=original.visit_date, region=original.region,
                              facility_id=original.facility_id, operator=operator, device=out["device"],
                              created_at=created, family_payer=original.family_payer,
                              input_json=json.dumps({"refund_of": uuid}),
                              output_json=json.dumps(out, ensure_ascii=False), **neg)
        journal.record(conn, entry)
        audit.append(conn, created, operator, "refund", new_uuid,
                     {"original_uuid": uuid, "psn_no": original.psn_no,
                      **{k: out[k] for k in AMOUNTS}})
    return out


def _usage_after_refund(conn: sqlite3.Connection, original: journal.Entry, annual_cap: str | None) -> dict:
    """The member's year after the reversal, so the refund slip can print it (and reprint it later)."""
    now = journal.usage(conn, original.psn_no, original.year)
    pool_after = now.pool_paid - Decimal(original.pool) / 100
    return {
        "annual_cap": annual_cap,
        "cap_left": None if annual_cap is None else fmt(max(ZERO, Decimal(annual_cap) - pool_after)),
        "usage_after": {
            "deductible_paid": fmt(now.deductible_paid - Decimal(original.deductible) / 100),
            "pool_paid": fmt(pool_after),
            "programme_paid": {
                name: fmt(paid - Decimal(getattr(original, f"programme_{name}")) / 100)
                for name, paid in now.programme_paid.items()},
        },
    }
