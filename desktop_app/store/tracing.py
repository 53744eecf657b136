"""药品追溯码 on this desk: the codes sold with each settlement line, the products they are tied to, waivers,
and what the hub reported.  Functions take the caller's connection; the caller holds the transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from ..domain.trace_code import TraceCode


@dataclass(frozen=True)
class SoldCode:
    """A code already sold on this desk and not refunded."""

    code: str
    settlement_uuid: str
    created_at: str


def unrefunded(conn: sqlite3.Connection, codes: Iterable[str]) -> dict[str, SoldCode]:
    """Which of ``codes`` this desk sold in a settlement that stands (not refunded)."""
    codes = list(dict.fromkeys(codes))
    found: dict[str, SoldCode] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        rows = conn.execute(
            "SELECT t.code, t.settlement_uuid, s.created_at FROM trace_codes t JOIN settlements s "
            f"ON s.uuid = t.settlement_uuid WHERE t.released_by IS NULL AND t.code IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        found.update({code: SoldCode(code, uuid, at) for code, uuid, at in rows})
    return found


def tied_item(conn: sqlite3.Connection, product: str) -> str | None:
    """The catalogue item a product's codes were first sold as, or None at first sight."""
    row = conn.execute("SELECT item_code FROM trace_products WHERE product = ?", (product,)).fetchone()
    return row[0] if row else None


def item_by_gtin(conn: sqlite3.Connection, gtin: str) -> str | None:
    """The catalogue item whose barcode is this GTIN (as GTIN-14, or the EAN-13 inside it)."""
    candidates = [gtin] + ([gtin[1:]] if gtin.startswith("0") else [])
    marks = ", ".join("?" * len(candidates))
    row = conn.execute(f"SELECT code FROM catalogue WHERE barcode IN ({marks}) ORDER BY code LIMIT 1", candidates)
    found = row.fetchone()
    return found[0] if found else None


def record_line(conn: sqlite3.Connection, uuid: str, line_no: int, item_code: str, codes: Iterable[TraceCode]) -> None:
    """The codes of one settlement line, and each product's tie to the item at first sight."""
    for code in codes:
        conn.execute(
            "INSERT INTO trace_codes (code, settlement_uuid, line_no, item_code, product, expiry, lot) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                code.code,
                uuid,
                line_no,
                item_code,
                code.product,
                code.expiry.isoformat() if code.expiry else None,
                code.lot,
            ),
        )
        conn.execute("INSERT OR IGNORE INTO trace_products VALUES (?, ?, ?)", (code.product, item_code, uuid))


def record_waiver(
    conn: sqlite3.Connection,
    uuid: str,
    line_no: int,
    item_code: str,
    codes: int,
    packages: str,
    reason: str,
    supervisor: str,
) -> None:
    conn.execute(
        "INSERT INTO trace_waivers VALUES (?, ?, ?, ?, ?, ?, ?)",
        (uuid, line_no, item_code, codes, packages, reason, supervisor),
    )


def release(conn: sqlite3.Connection, original_uuid: str, refund_uuid: str) -> int:
    """A refund gives its original's packages back: their codes may be sold again.  How many were released."""
    return conn.execute(
        "UPDATE trace_codes SET released_by = ? WHERE settlement_uuid = ? AND released_by IS NULL",
        (refund_uuid, original_uuid),
    ).rowcount


def record_notice(
    conn: sqlite3.Connection, uuid: str, code: str, first_uuid: str, first_desk: str, first_sold_at: str, at: str
) -> None:
    """The hub's finding: ``code``, sold in ``uuid`` here, was sold before in ``first_uuid`` and not refunded."""
    conn.execute(
        "INSERT OR IGNORE INTO trace_notices VALUES (?, ?, ?, ?, ?, ?)",
        (uuid, code, first_uuid, first_desk, first_sold_at, at),
    )
