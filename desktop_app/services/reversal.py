"""What a refund reverses: whether a settlement may still be refunded, what the prompt shows, the refund's record.

A refund negates its original exactly (the hub checks this), so it is always the whole settlement; a
refund of chosen lines is that, followed by a new settlement of the lines kept (:mod:`.partial_refund`).

Who is who: the journal's ``operator`` of a refund is the supervisor who authorised it (as audited and
as the hub receives it); the refund's record adds ``supervisor``, ``cashier`` (the cashier of record,
the original's operator, whose drawer pays the cash back and to whom the day-end books it) and
``reason``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from ..domain.errors import InputError
from ..domain.identity import mask_certno
from ..domain.money import ZERO, fmt, from_fen
from ..domain.vocabulary import AMOUNTS, COUNTERS
from ..store import audit, journal, members

MAX_REASON = 200


def check_refundable(conn: sqlite3.Connection, uuid: str, original: journal.Entry | None) -> None:
    """A settlement that exists, is not itself a refund, and has not been refunded yet."""
    if original is None:
        raise InputError("uuid", uuid, "没有这笔结算")
    if original.kind == "refund":
        raise InputError("uuid", uuid, f"这是一笔退费记录（原结算 {original.original_uuid}），不能再退费")
    existing = journal.refund_of(conn, uuid)
    if existing:
        raise InputError("uuid", uuid, f"这笔结算已于退费单 {existing} 退费，不能重复退费")


def check_reason(reason: str | None) -> str | None:
    """The refund's reason, trimmed; None where none was asked (the command line)."""
    if reason is None:
        return None
    if not isinstance(reason, str) or not reason.strip():
        raise InputError("退费原因", reason, "请选择退费原因，或写明其他原因")
    if len(reason.strip()) > MAX_REASON:
        raise InputError("退费原因", f"{len(reason.strip())} 字", f"退费原因最多 {MAX_REASON} 字")
    return reason.strip()


@dataclass(frozen=True)
class RefundLine:
    name: str
    quantity: str
    amount: Decimal


@dataclass(frozen=True)
class RefundSummary:
    """What the refund prompt shows: whose settlement, what, and how much goes back where."""

    uuid: str
    created_at: str
    name: str
    masked_certno: str
    cashier: str  # the cashier of record: the refund is booked to them
    items: tuple[RefundLine, ...]
    total: Decimal
    fund: Decimal
    own_account: Decimal
    family_account: Decimal
    family_payer_name: str | None
    cash: Decimal


def summary(conn: sqlite3.Connection, uuid: str) -> RefundSummary:
    """The settlement ``uuid`` as the refund prompt shows it; :class:`InputError` if it cannot be refunded."""
    original = journal.get(conn, uuid)
    check_refundable(conn, uuid, original)
    out = journal.output(original)
    member = members.get(conn, original.psn_no)
    payer = members.get(conn, original.family_payer) if original.family_payer else None
    return RefundSummary(
        uuid=uuid,
        created_at=original.created_at,
        name=member.name if member else out.get("psn_name", ""),
        masked_certno=mask_certno(member.certno) if member else "",
        cashier=original.operator,
        items=tuple(
            RefundLine(i.get("name", i.get("code", "")), str(i.get("cnt", "1")), Decimal(i["det_item_fee_sumamt"]))
            for i in out.get("items", [])
        ),
        total=from_fen(original.medfee_sumamt),
        fund=from_fen(original.hifp_pay),
        own_account=from_fen(original.acct_pay),
        family_account=from_fen(original.acct_mulaid_pay),
        family_payer_name=payer.name if payer else None,
        cash=from_fen(original.psn_cash_pay),
    )


def entry(
    conn: sqlite3.Connection,
    original: journal.Entry,
    uuid: str,
    supervisor: str,
    device: str,
    created: str,
    reason: str | None,
) -> journal.Entry:
    """The refund's journal entry: the original negated, its record naming cashier, supervisor and reason."""
    neg = {f: -getattr(original, f) for f in (*AMOUNTS, *COUNTERS)}
    source = journal.output(original)
    out = {
        "uuid": uuid,
        "kind": "refund",
        "original_uuid": original.uuid,
        "created_at": created,
        "operator": supervisor,
        "supervisor": supervisor,
        "cashier": original.operator,
        "device": device,
        "psn_no": original.psn_no,
        "psn_name": source.get("psn_name"),
        "region": original.region,
        "date": original.visit_date,
        "offline": True,
        **{k: fmt(from_fen(v)) for k, v in neg.items()},
        "family_payer": original.family_payer,
        "items": source.get("items", []),
    }
    if reason is not None:
        out["reason"] = reason
    out["balc"] = fmt(members.balance(conn, original.psn_no) + from_fen(original.acct_pay))
    out.update(usage_after(conn, original, source.get("annual_cap")))
    return journal.Entry(
        uuid=uuid,
        kind="refund",
        original_uuid=original.uuid,
        psn_no=original.psn_no,
        year=original.year,
        visit_date=original.visit_date,
        region=original.region,
        facility_id=original.facility_id,
        operator=supervisor,
        device=device,
        created_at=created,
        family_payer=original.family_payer,
        input_json=json.dumps({"refund_of": original.uuid}),
        output_json=journal.output_json(out),
        **neg,
    )


def audit_refund(conn: sqlite3.Connection, refund: journal.Entry, out: dict) -> None:
    """The supervisor's audited act, naming the cashier of record and the reason."""
    detail = {"original_uuid": refund.original_uuid, "psn_no": refund.psn_no, **{k: out[k] for k in AMOUNTS}}
    detail["cashier"] = out["cashier"]
    if "reason" in out:
        detail["reason"] = out["reason"]
    audit.append(conn, refund.created_at, refund.operator, "refund", refund.uuid, detail)


def usage_after(conn: sqlite3.Connection, original: journal.Entry, annual_cap: str | None) -> dict:
    """The member's year after the reversal, so the refund slip can print it (and reprint it later)."""
    now = journal.usage(conn, original.psn_no, original.year)
    pool_after = now.pool_paid - from_fen(original.pool)
    return {
        "annual_cap": annual_cap,
        "cap_left": None if annual_cap is None else fmt(max(ZERO, Decimal(annual_cap) - pool_after)),
        "usage_after": {
            "deductible_paid": fmt(now.deductible_paid - from_fen(original.deductible)),
            "pool_paid": fmt(pool_after),
            "programme_paid": {
                name: fmt(paid - from_fen(getattr(original, f"programme_{name}")))
                for name, paid in now.programme_paid.items()
            },
        },
    }
