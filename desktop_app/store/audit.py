"""An append-only, hash-chained audit log: a changed or deleted row breaks the chain."""

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
    conn.execute("INSERT INTO audit_log (at, operator, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (at, operator, action, subject, text, prev, digest))
    return digest


def verify_chain(conn: sqlite3.Connection) -> list[str]:
    """Problems found walking the chain from the start; empty when intact."""
    problems = []
    prev = GENESIS
    expected_id = None
    for id_, at, operator, action, subject, detail, prev_hash, digest in conn.execute(
            "SELECT id, at, operator, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY id"):
        if expected_id is not None and id_ != expected_id:
            problems.append(f"audit_log: 第 {expected_id} 至 {id_ - 1} 条缺失（被删除）")
        expected_id = id_ + 1
        if prev_hash != prev:
            problems.append(f"audit_log: 第 {id_} 条的前一哈希不符（前面的记录被改动或删除）")
        if _digest(prev_hash, at, operator, action, subject, detail) != digest:
            problems.append(f"audit_log: 第 {id_} 条内容与其哈希不符（被改动）")
        prev = digest
    return problems
