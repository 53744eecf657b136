"""Comparing this desk with the hub, read-only: 对账 of one day, and the audit chain against the hub's anchor.

对账 sets the desk's count and sums of the day's applied settlements beside the hub's, and on a
difference names the settlements behind it.  The audit check finds the entry of the desk's audit
chain that the hub last acknowledged and says whether it is still there, unchanged.
"""

from __future__ import annotations

import sqlite3

import httpx
import sqlite_utils

from ..domain.vocabulary import AMOUNTS
from .hub_client import HubClient


def local_day(conn: sqlite3.Connection, day: str) -> dict:
    rows = conn.execute(
        f"SELECT s.uuid, {', '.join('s.' + a for a in AMOUNTS)} FROM settlements s JOIN outbox o "
        "ON o.uuid = s.uuid WHERE substr(s.created_at, 1, 10) = ? AND o.status = 'applied' "
        "ORDER BY s.uuid",
        (day,),
    ).fetchall()
    return {
        "count": len(rows),
        **{a: sum(r[i + 1] for r in rows) for i, a in enumerate(AMOUNTS)},
        "uuids": [r[0] for r in rows],
    }


def reconcile(
    db: sqlite_utils.Database, hub: str, token: str, day: str, transport: httpx.BaseTransport | None = None
) -> dict:
    """对账: this desk's day against the hub's, count and sums; on a difference, the settlements behind it."""
    client = HubClient(hub, token, transport=transport)
    try:
        server = client.reconcile(day).server
    finally:
        client.close()
    local = local_day(db.conn, day)
    differences = {
        k: {"desk": local[k], "hub": getattr(server, k)} for k in ("count", *AMOUNTS) if local[k] != getattr(server, k)
    }
    only_desk = sorted(set(local["uuids"]) - set(server.uuids))
    only_hub = sorted(set(server.uuids) - set(local["uuids"]))
    return {
        "day": day,
        "ok": not differences and not only_desk and not only_hub,
        "differences": differences,
        "only_at_desk": only_desk,
        "only_at_hub": only_hub,
    }


def audit_matches_hub(
    db: sqlite_utils.Database, hub: str, token: str, transport: httpx.BaseTransport | None = None
) -> list[str]:
    """The hub's anchor of this desk's audit chain is in the local chain, unchanged (else it was rewritten)."""
    client = HubClient(hub, token, transport=transport)
    try:
        head = client.audit_head()
    finally:
        client.close()
    if head.id is None:
        return []
    row = db.conn.execute("SELECT hash FROM audit_log WHERE id = ?", (head.id,)).fetchone()
    if row is None:
        return [f"audit_log: 医保中心保存的第 {head.id} 条审计记录在本机已不存在（被删除）"]
    if row[0] != head.hash:
        return [f"audit_log: 第 {head.id} 条审计记录与医保中心保存的不符（审计链被改写）"]
    return []
