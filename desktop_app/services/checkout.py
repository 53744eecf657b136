"""Checkout at the counter: find the member, quote from the cache, pay, confirm, refund.

No Qt.  :func:`confirm` does all its work in one ``BEGIN IMMEDIATE`` transaction:
the journal entry, the usage counters, the account movements, the prescription,
the audit entry and the outbox row are written together or not at all.  The
quote is recomputed inside that transaction, so two desks sharing a file cannot
both spend the same cap.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid as uuidlib
from dataclasses import dataclass, replace
from decimal import Decimal

import sqlite_utils

from ..domain.case import Case, Member, parse_case, parse_visit
from ..domain.clock import now_iso
from ..domain.diagnosis import Diagnosis
from ..domain.errors import InputError
from ..domain.identity import mask_certno, validate_certno
from ..domain.member import MemberRecord
from ..domain.money import ZERO, fmt
from ..domain.settlement import Settlement
from ..policy.payment import Payment
from ..policy.visit import journal_figures, settle_visit
from ..resources import rules_dir
from ..rule_files import cached_region
from ..store import config, journal, members, operators
from ..store import diagnoses as diagnosis_store
from ..store.db import transaction
from . import approvals, offline, request, reversal, tracing
from .approvals import Approval, authorise  # noqa: F401 - the desk, the window and the CLI take them from here
from .cart import change_due
from .request import MAX_VISIT_TOTAL, Override

_CHECKOUT_KEYS = {"date", "member", "visit", "items", "payment", "prescription", "request_id", "diagnoses"}
_FROM_SETTINGS = {"region": "统筹地区", "facility": "本机构"}


@dataclass(frozen=True)
class Quote:
    member: MemberRecord
    case: Case
    settlement: Settlement
    payment: Payment
    prescription: object | None
    overrides: tuple[Override, ...] = ()
    late: bool = False  # a visit of an earlier day, settled today
    traced: tuple[tracing.TracedLine, ...] = ()  # the traced lines, with their codes (issue 18)
    diagnoses: tuple[Diagnosis, ...] = ()  # the visit's, in order (the first is the main one)
    device: str | None = None  # this desk's device.id, read with the settings the quote needed

    @property
    def needs_approval(self) -> tuple[str, ...]:
        """What a supervisor must authorise before this can be confirmed."""
        why = [f"{o.name} 单价 {fmt(o.price)} 高于目录价 {fmt(o.catalogue_price)}" for o in self.overrides]
        if self.late:
            why.append(f"补结算 {self.case.date.isoformat()} 的就诊")
        why += [line.why_approval() for line in self.traced if line.waiver is not None]
        return tuple(why)


# --------------------------------------------------------------------------- lookup


def find_member(conn: sqlite3.Connection, ref: object, field: str = "member") -> MemberRecord:
    """By ``{"psn_no": …}`` or ``{"certno": …}``; a clear error when not found."""
    if not isinstance(ref, dict) or len(ref) != 1 or not ({"psn_no", "certno"} & set(ref)):
        raise InputError(field, ref, '须为 {"psn_no": 人员编号} 或 {"certno": 身份证号}')
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


def build_quote(conn: sqlite3.Connection, data: object, today: dt.date | None = None) -> Quote:
    """Everything about a checkout except writing it."""
    _check_keys(data)
    member = find_member(conn, data.get("member"))
    site = config.site(conn)
    region = site.region
    if member.region != region:
        raise InputError(
            "member", member.psn_no, f"参保人属于 {member.region}，本机按 {region} 结算；异地就医请走异地结算"
        )
    day, late = request.visit_date(data.get("date"), today or dt.date.today())
    lines, overrides = request.items(conn, data.get("items"))
    engine_items = [line for line, _ in lines]
    case = _case(conn, data, member, site, day, engine_items)
    traced = tracing.check(
        conn, data["items"], [item for _, item in lines], [line["quantity"] for line in engine_items], case.date
    )
    rules = cached_region(region, str(rules_dir())).at(case.date)
    prescription = request.prescription(case, rules, data.get("prescription"))
    diagnoses = request.diagnoses(conn, data.get("diagnoses"), case.facility.kind, prescription)
    stated = bool(diagnoses) or case.facility.kind != "pharmacy"  # a clinic's visit states them, none yet included
    case = replace(case, diagnoses=tuple(d.code for d in diagnoses if d.code) if stated else None)
    choice = request.payer_choice(data.get("payment"))
    outcome = settle_visit(
        case,
        rules,
        [item for _, item in lines],
        request.accounts(conn, member, choice),
        choice,
        offline.allowance(conn, member.psn_no, site=site),
    )
    return Quote(
        member,
        case,
        outcome.settlement,
        outcome.payment,
        prescription,
        tuple(overrides),
        late,
        traced,
        diagnoses,
        site.device,
    )


def _case(
    conn: sqlite3.Connection, data: dict, member: MemberRecord, site: config.Site, day: dt.date, items: list
) -> Case:
    """The visit as the engine settles it, from this desk's settings and cache; a total past the bound is refused."""
    probe = parse_case(
        {
            "region": site.region,
            "date": day.isoformat(),
            "facility": request.facility_dict(site.facility),
            "member": {"status": member.status},
            "items": items,
        }
    )
    total = sum((i.amount for i in probe.items), ZERO)
    if total > MAX_VISIT_TOTAL:
        raise InputError(
            "items", f"合计 {fmt(total)}", f"一次就诊的医疗费总额不能超过 {fmt(MAX_VISIT_TOTAL)} 元，请核对数量与单价"
        )
    return Case(
        region=site.region,
        date=probe.date,
        facility=probe.facility,
        member=Member(
            member.status,
            member.scheme,
            frozenset(member.programmes),
            members.inpatient_on(conn, member.psn_no, probe.date),
            member.designated_facility,
        ),
        items=probe.items,
        usage=journal.usage(conn, member.psn_no, probe.date.year),
        visit=parse_visit(data.get("visit")),
        published=config.published(conn, site.region),
    )


def _check_keys(data: object) -> None:
    """A JSON object of the known keys; region and facility are this desk's settings, never the request's."""
    if not isinstance(data, dict):
        raise InputError("case", data, "须为 JSON 对象")
    for key, what in _FROM_SETTINGS.items():
        if key in data:
            raise InputError(key, data[key], f"{what}由本机设置决定（主管在设置 F8 中录入），结算单不能指定")
    unknown = set(data) - _CHECKOUT_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(key, data[key], f"未知字段；可用字段：{', '.join(sorted(_CHECKOUT_KEYS))}")


def quote_dict(q: Quote) -> dict:
    out = q.settlement.to_dict()
    out.update({"psn_no": q.member.psn_no, "psn_name": q.member.name, **q.payment.to_dict()})
    return out


# --------------------------------------------------------------------------- confirm and refund


def device_id(conn: sqlite3.Connection, known: str | None = None) -> str:
    """This desk's device.id (``known``: as a quote read it already); refused when the database was never set up."""
    value = known if known is not None else config.get(conn, "device.id")
    if value is None:
        raise InputError("settings.device.id", None, "本机没有设备编号（数据库未初始化）")
    return value


def confirm(
    db: sqlite_utils.Database,
    data: object,
    operator: str,
    today: dt.date | None = None,
    at: str | None = None,
    *,
    password: str | None = None,
    approval: Approval | None = None,
    tendered: str | Decimal | None = None,
) -> dict:
    """Settle and commit; returns the settlement with its UUID and payment split.

    ``password`` is the operator's, where the caller has not logged them in (the command line); the
    window's operator logged in at the start.  ``approval`` is a supervisor's, needed for a price above
    the catalogue's and for a visit of an earlier day; it is checked here, in the settlement's own
    transaction, and audited with its reason.  A ``request_id`` in ``data`` makes a retry return the
    first settlement instead of settling again.  ``tendered`` is the cash the member handed over, where the
    cashier typed it: the record keeps it and the change (实收, 找零) for the receipt, never for the hub.
    """
    with transaction(db) as conn:
        _check_operator(conn, operator, password)
        request_id, stored = request.request_id(data), request.stored_form(data)
        first = request.first_answer(conn, request_id, stored)
        if first is not None:
            return first
        out = settle_in(conn, data, operator, today, at, approval, tendered, stored=stored)
        request.remember(conn, request_id, out["uuid"], None)
    return out


def settle_in(
    conn: sqlite3.Connection,
    data: object,
    operator: str,
    today: dt.date | None,
    at: str | None,
    approval: Approval | None,
    tendered: str | Decimal | None = None,
    note: dict | None = None,
    remarks: tuple[str, ...] = (),
    stored: str | None = None,
) -> dict:
    """Quote and journal one settlement in the caller's transaction (see :func:`confirm`); its record.

    ``note`` is added to the record as it is (a partial refund's link to the settlement it replaces);
    ``remarks`` are printed under the figures, after the approvals' lines.  ``stored`` is the request's stored
    form where the caller has made it already (:func:`confirm`, to compare a retry).
    """
    q = build_quote(conn, data, today)
    tracing.require_complete(q.traced)
    request.require_diagnosis(q.diagnoses, q.case.facility.kind)
    notes = [*approvals.approve(conn, q, approval), *remarks]
    created = at or now_iso()
    out = _record(q, created, operator, device_id(conn, q.device), notes)
    out.update(_cash_tendered(tendered, q.payment.cash))
    out.update(note or {})
    entry = journal.Entry(
        uuid=out["uuid"],
        kind="settlement",
        original_uuid=None,
        psn_no=q.member.psn_no,
        year=q.case.date.year,
        visit_date=q.case.date.isoformat(),
        region=q.case.region,
        facility_id=q.case.facility.id,
        operator=operator,
        device=out["device"],
        created_at=created,
        family_payer=q.payment.family_payer,
        **journal_figures(q.settlement, q.payment),
        input_json=request.stored_form(data) if stored is None else stored,
        output_json=journal.output_json(out),
    )
    journal.record(conn, entry)
    request.remember(conn, None, entry.uuid, q.prescription)
    approvals.audit_settlement(conn, q, out, operator, approval)
    tracing.record(conn, entry.uuid, q.traced, approval.supervisor if approval else None, created)
    diagnosis_store.record_visit(conn, entry.uuid, q.diagnoses)
    return out


def _cash_tendered(tendered: str | Decimal | None, cash: Decimal) -> dict:
    """实收 and 找零 as the receipt prints them; nothing when the cashier typed no amount (exact money)."""
    if tendered is None:
        return {}
    change = change_due(cash, str(tendered))
    return {} if change is None else {"tendered": fmt(cash + change), "change": fmt(change)}


def _check_operator(conn: sqlite3.Connection, operator: str, password: str | None) -> None:
    """The operator's password where given (the command line), else a registered operator (the window's login)."""
    if password is not None:
        operators.authenticate(conn, operator, password)
    elif operators.role_of(conn, operator) is None:
        raise operators.AuthError(f"没有登记的操作员 {operator!r}：请以本机操作员登录后结算")


def _record(q: Quote, created: str, operator: str, device: str, notes: list[str]) -> dict:
    """The settlement as journalled and printed: the quote's figures, its UUID, who and when, approvals' notes."""
    out = quote_dict(q)
    out.update(
        {
            "uuid": str(uuidlib.uuid4()),
            "kind": "settlement",
            "created_at": created,
            "operator": operator,
            "device": device,
            "offline": True,
        }
    )
    out["warnings"] = [*out.get("warnings", []), *notes]
    overrides = {o.code: o for o in q.overrides}
    for item in out["items"]:
        if item["code"] in overrides:
            item["catalogue_pric"] = fmt(overrides[item["code"]].catalogue_price)
    if q.diagnoses:  # as the platform's 2203 carries them: the A5 slip prints them, the push sends them
        out["diseinfo"] = [
            {"diag_srt_no": i, "diag_code": d.code, "diag_name": d.name} for i, d in enumerate(q.diagnoses, 1)
        ]
    for line in q.traced:  # as the platform's 3505 carries them, and the count the receipt prints
        item = out["items"][line.line_no]
        item["drugtracinfo"] = [{"drug_trac_codg": code.code} for code in line.codes]
        item["trac_cnt"] = line.counted
        if line.waiver is not None:
            item["trac_waiver"] = line.waiver
    return out


def refund(
    db: sqlite_utils.Database,
    uuid: str,
    operator: str,
    password: str,
    at: str | None = None,
    reason: str | None = None,
) -> dict:
    """The reversal of a settlement, authorised by a supervisor (``operator``); at most one per original.

    ``reason`` (the window asks for one from a list) is audited and printed on the refund slip.  The refund
    is booked to the cashier of record, the original's operator (see :mod:`.reversal`).
    """
    reason = reversal.check_reason(reason)
    with transaction(db) as conn:
        operators.require_supervisor(conn, operator, password, "退费")
        original = journal.get(conn, uuid)
        reversal.check_refundable(conn, uuid, original)
        entry = reversal.entry(conn, original, str(uuidlib.uuid4()), operator, device_id(conn), at or now_iso(), reason)
        journal.record(conn, entry)
        out = journal.output(entry)
        reversal.audit_refund(conn, entry, out)
    return out
