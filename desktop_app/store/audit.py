"""An append-only, hash-chained audit log: a changed or deleted row breaks the chain.

Guarded tables (settings, operators, catalogue, published figures) change only with an audit entry
that records a digest of each table's contents after the change (:func:`record_state`); ``verify``
recomputes the digests and compares them with the newest recorded state, so a hand edit shows.
The chain's head also goes to the hub at every sync, which refuses a chain that does not extend
the head it saw last (a re-hashed chain).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3

GENESIS = "0" * 64


def _digest(prev_hash: str, at: str, operator: str, action: str, subject: str, detail: str) -> str:
    payload = json.dumps([prev_hash, at, operator, action, subject, detail], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(conn: sqlite3.Connection, at: str, operator: str, action: str, subject: str, detail: dict) -> str:
    """Add an entry inside the caller's transaction; returns its hash."""
    row = conn.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    prev = row[0] if row else GENESIS
    text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    digest = _digest(prev, at, operator, action, subject, text)
    conn.execute(
        "INSERT INTO audit_log (at, operator, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (at, operator, action, subject, text, prev, digest),
    )
    return digest


def verify_chain(conn: sqlite3.Connection) -> list[str]:
    """Problems found walking the chain from the start; empty when intact."""
    problems = []
    prev = GENESIS
    expected_id = None
    for id_, at, operator, action, subject, detail, prev_hash, digest in conn.execute(
        "SELECT id, at, operator, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY id"
    ):
        if expected_id is not None and id_ != expected_id:
            problems.append(f"audit_log: 第 {expected_id} 至 {id_ - 1} 条缺失（被删除）")
        expected_id = id_ + 1
        if prev_hash != prev:
            problems.append(f"audit_log: 第 {id_} 条的前一哈希不符（前面的记录被改动或删除）")
        if _digest(prev_hash, at, operator, action, subject, detail) != digest:
            problems.append(f"audit_log: 第 {id_} 条内容与其哈希不符（被改动）")
        prev = digest
    return problems


# What the guarded tables hold, as rows in a fixed order.  Settings exclude sync's own state (cursor,
# last success, clock skew, the hub's rule digests), which sync rewrites at every round.
GUARDED = {
    "settings": "SELECT key, value FROM settings WHERE (key NOT LIKE 'sync.%' OR key IN ('sync.hub', 'sync.token')) "
    "AND key NOT LIKE 'hub.rules.%' ORDER BY key",
    "operators": "SELECT name, role, hex(salt), hex(password_hash) FROM operators ORDER BY name",
    "catalogue": "SELECT * FROM catalogue ORDER BY code",
    "published_figures": "SELECT region, name, year, value FROM published_figures ORDER BY region, name, year",
}


# From migration 0005 an operator can be disabled: the row then says so in its role (an enabled operator's row
# reads as before, so the digests recorded before 0005 still hold).
_OPERATORS_WITH_FLAG = (
    "SELECT name, role || CASE WHEN disabled THEN ':disabled' ELSE '' END, hex(salt), hex(password_hash) "
    "FROM operators ORDER BY name"
)


def _query(conn: sqlite3.Connection, table: str) -> str:
    if table == "operators" and any(col[1] == "disabled" for col in conn.execute("PRAGMA table_info(operators)")):
        return _OPERATORS_WITH_FLAG
    return GUARDED[table]


def state_digests(conn: sqlite3.Connection) -> dict[str, str]:
    """A SHA-256 of each guarded table's rows."""
    out = {}
    for table in GUARDED:
        query = _query(conn, table)
        h = hashlib.sha256()
        for row in conn.execute(query):
            h.update(json.dumps(row, ensure_ascii=False, default=str, separators=(",", ":")).encode("utf-8"))
            h.update(b"\n")
        out[table] = h.hexdigest()
    return out


def record_state(conn: sqlite3.Connection, at: str, operator: str, action: str, subject: str, detail: dict) -> str:
    """An audit entry for a change to guarded tables, with their digests after it (in the caller's transaction)."""
    return append(conn, at, operator, action, subject, {**detail, "state": state_digests(conn)})


def last_state(conn: sqlite3.Connection) -> dict[str, str] | None:
    row = conn.execute(
        "SELECT detail FROM audit_log WHERE detail LIKE '%\"state\": {%' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return json.loads(row[0]).get("state") if row else None
