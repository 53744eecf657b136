"""Receipts for stored settlements: gather what the slip shows, render it, write it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..domain.errors import InputError
from ..receipts import pdf
from ..receipts.model import Receipt, build
from ..store import config, journal, members


def load(conn: sqlite3.Connection, uuid: str, copy_note: str | None = None) -> Receipt:
    """The receipt of the settlement or refund ``uuid`` as stored."""
    entry = journal.get(conn, uuid)
    if entry is None:
        raise InputError("uuid", uuid, "没有这笔结算")
    original = journal.output(journal.get(conn, entry.original_uuid)) if entry.original_uuid else None
    member = members.get(conn, entry.psn_no)
    payer = members.get(conn, entry.family_payer) if entry.family_payer else None
    sent = conn.execute("SELECT sent_at FROM outbox WHERE uuid = ?", (uuid,)).fetchone()
    return build(
        journal.output(entry),
        original=original,
        certno=member.certno,
        insutype=member.insutype,
        status=member.status,
        scheme=member.scheme,
        facility_name=config.get(conn, "facility.name") or "（未设置机构名称）",
        facility_id=entry.facility_id or config.get(conn, "facility.id") or "",
        family_payer_name=payer.name if payer else None,
        unsynced=sent is None or sent[0] is None,
        copy_note=copy_note,
    )


def render(conn: sqlite3.Connection, uuid: str, layout: str, copy_note: str | None = None) -> bytes:
    try:
        return pdf.render(load(conn, uuid, copy_note), layout)
    except pdf.ReceiptError as exc:
        raise InputError("layout", layout, str(exc)) from None


def write(conn: sqlite3.Connection, uuid: str, layout: str, out: Path, copy_note: str | None = None) -> Path:
    """Render and write atomically (a half-written PDF never sits where a printer spooler looks)."""
    data = render(conn, uuid, layout, copy_note)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    partial.write_bytes(data)
    partial.replace(out)
    return out
