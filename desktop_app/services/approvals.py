"""A supervisor's authorisation at the counter: checked in the settlement's own transaction, audited with its reason.

A price above the catalogue's, a visit of an earlier day and a traced line short of its codes each need one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Protocol

from ..domain.errors import InputError
from ..domain.money import fmt
from ..domain.vocabulary import AMOUNTS
from ..store import audit, operators


class Quote(Protocol):
    """What of checkout's quote an approval reads (checkout imports this module, not the other way)."""

    member: object
    case: object
    overrides: tuple
    late: bool

    @property
    def needs_approval(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Approval:
    """A supervisor's authorisation, given at that moment: checked inside the settlement's own transaction."""

    supervisor: str
    password: str
    reason: str


def audit_settlement(conn: sqlite3.Connection, q: Quote, out: dict, operator: str, approval: Approval | None) -> None:
    """The settlement's audit entry, and the supervisor's for each price override and a late visit."""
    created, uuid = out["created_at"], out["uuid"]
    audit.append(conn, created, operator, "settle", uuid, {"psn_no": q.member.psn_no, **{k: out[k] for k in AMOUNTS}})
    for o in q.overrides:
        audit.append(
            conn,
            created,
            approval.supervisor,
            "price_override",
            uuid,
            {
                "code": o.code,
                "catalogue_price": fmt(o.catalogue_price),
                "price": fmt(o.price),
                "cashier": operator,
                "reason": approval.reason,
            },
        )
    if q.late:
        audit.append(
            conn,
            created,
            approval.supervisor,
            "late_visit",
            uuid,
            {"visit_date": q.case.date.isoformat(), "cashier": operator, "reason": approval.reason},
        )


def authorise(conn: sqlite3.Connection, approval: Approval, action: str) -> Approval:
    """The supervisor's password is right and a reason is given; :class:`AuthError` or :class:`InputError` if not."""
    operators.require_supervisor(conn, approval.supervisor, approval.password, action)
    if not isinstance(approval.reason, str) or not approval.reason.strip():
        raise InputError("reason", approval.reason, "主管授权须说明原因")
    return approval


def approve(conn: sqlite3.Connection, q: Quote, approval: Approval | None) -> list[str]:
    """Check the supervisor's authorisation where the quote needs one; the lines it puts on the receipt."""
    if not q.needs_approval:
        return []
    if approval is None:
        raise operators.AuthError("；".join(q.needs_approval) + "：需要主管当场授权（主管、密码与原因）")
    authorise(conn, approval, "改价或补结算")
    return [f"{why}：主管 {approval.supervisor} 授权，原因：{approval.reason.strip()}" for why in q.needs_approval]
