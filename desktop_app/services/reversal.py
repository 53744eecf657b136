"""What a refund reverses: whether a settlement may still be refunded, and the member's year once it is."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from ..domain.errors import InputError
from ..domain.money import ZERO, fmt, from_fen
from ..store import journal


def check_refundable(conn: sqlite3.Connection, uuid: str, original: journal.Entry | None) -> None:
    """A settlement that exists, is not itself a refund, and has not been refunded yet."""
    if original is None:
        raise InputError("uuid", uuid, "没有这笔结算")
    if original.kind == "refund":
        raise InputError("uuid", uuid, f"这是一笔退费记录（原结算 {original.original_uuid}），不能再退费")
    existing = journal.refund_of(conn, uuid)
    if existing:
        raise InputError("uuid", uuid, f"这笔结算已于退费单 {existing} 退费，不能重复退费")


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
