"""部分退费: the member returns some lines of a settlement and keeps the others.

The hub accepts a refund only as the exact negation of its original, and what the fund pays for the kept
lines depends on the year's usage without the returned ones.  So, as hospital systems do it, the whole
settlement is refunded and the kept lines are settled again, recomputed by the rules now, in one local
transaction; both reach the hub in that order and it recomputes each.  The new settlement keeps the
original's visit date, payer choice and prescription, is booked to the cashier of record (whose drawer
pays back the difference), names the settlement it replaces, and is authorised by the supervisor who
authorised the refund (a visit of an earlier day needs that too).  A supervisor's ``partial_refund`` audit
row ties the three together.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid as uuidlib

import sqlite_utils

from ..domain.clock import now_iso
from ..domain.errors import InputError
from ..domain.money import fmt, from_fen
from ..store import audit, journal, operators
from ..store.db import transaction
from . import checkout, reversal


def kept_items(items: object, keep: object) -> list[dict]:
    """The settlement's request lines at the 0-based positions ``keep``: some, not all, none twice."""
    if not isinstance(items, list) or not items:
        raise InputError("items", items, "原结算没有可保留的项目")
    if not isinstance(keep, (list, tuple)) or not all(isinstance(i, int) and not isinstance(i, bool) for i in keep):
        raise InputError("保留项目", keep, "请选择要保留的项目（行号）")
    if not keep:
        raise InputError("保留项目", "无", "一项都不保留请用全部退费")
    if len(set(keep)) != len(keep) or not all(0 <= i < len(items) for i in keep):
        raise InputError("保留项目", [i + 1 for i in keep], f"行号须为 1 到 {len(items)} 之间且不重复")
    if len(keep) == len(items):
        raise InputError("保留项目", "全部", "全部保留即无需退费；请至少取消勾选一项")
    return [items[i] for i in sorted(keep)]


def partial_refund(
    db: sqlite_utils.Database,
    uuid: str,
    keep: list[int],
    supervisor: str,
    password: str,
    reason: str,
    at: str | None = None,
    today: dt.date | None = None,
) -> dict:
    """Refund settlement ``uuid`` whole and settle again its lines at ``keep``; ``{"refund": …, "settlement": …}``."""
    reason = reversal.check_reason(reason)
    if reason is None:
        raise InputError("退费原因", reason, "部分退费须选择退费原因")
    with transaction(db) as conn:
        operators.require_supervisor(conn, supervisor, password, "退费")
        original = journal.get(conn, uuid)
        reversal.check_refundable(conn, uuid, original)
        asked = json.loads(original.input_json)
        kept = kept_items(asked.get("items"), keep)
        created = at or now_iso()
        refund_entry = reversal.entry(
            conn, original, str(uuidlib.uuid4()), supervisor, checkout.device_id(conn), created, reason
        )
        journal.record(conn, refund_entry)
        refund = journal.output(refund_entry)
        reversal.audit_refund(conn, refund_entry, refund)
        again = {k: v for k, v in asked.items() if k not in ("request_id", "member", "items", "date")}
        again.update(member={"psn_no": original.psn_no}, items=kept, date=original.visit_date)
        approval = checkout.Approval(supervisor, password, f"部分退费：{reason}")
        note = {"replaces": uuid, "partial_refund": refund_entry.uuid}
        remark = (
            f"部分退费：原结算 {uuid[:8]} 已冲销（退费单 {refund_entry.uuid[:8]}），"
            f"本单为保留项目重新结算，原因：{reason}"
        )
        settlement = checkout.settle_in(
            conn, again, original.operator, today, created, approval, note=note, remarks=(remark,)
        )
        back = from_fen(original.psn_cash_pay) - from_fen(journal.get(conn, settlement["uuid"]).psn_cash_pay)
        audit.append(
            conn,
            created,
            supervisor,
            "partial_refund",
            uuid,
            {
                "refund": refund_entry.uuid,
                "settlement": settlement["uuid"],
                "kept_lines": [i + 1 for i in sorted(keep)],
                "cashier": original.operator,
                "reason": reason,
                "cash_back": fmt(back),
            },
        )
    return {"refund": refund, "settlement": settlement, "cash_back": fmt(back)}
