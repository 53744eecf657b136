"""A new desk's first pull fills empty tables with up to a million members: their secondary indexes are
dropped for it and built once at the end, which sorts each index once instead of inserting into it row by row.

The indexes' definitions are kept in the settings in the transaction that drops them, so a pull that dies
half-way leaves a record: :func:`restore` (run by ``connect`` on every open, and by the pull when it ends)
builds whatever is recorded and clears the record in one transaction.
"""

from __future__ import annotations

import json
import sqlite3

RECORD = "sync.deferred_indexes"  # a sync.* key: left out of the settings' audited digest
DEFERRED = ("members_name", "members_initials", "family_links_relative", "account_entries_member")


def defer(conn: sqlite3.Connection) -> bool:
    """Drop the members' secondary indexes if the desk has no member yet; whether it did (caller's transaction)."""
    if conn.execute("SELECT EXISTS (SELECT 1 FROM members)").fetchone()[0] or _recorded(conn):
        return False
    marks = ", ".join("?" * len(DEFERRED))
    found = dict(
        conn.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ({marks})", DEFERRED)
    )
    if not found:
        return False
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (RECORD, json.dumps(found, ensure_ascii=False)),
    )
    for name in found:
        conn.execute(f"DROP INDEX {name}")
    return True


def restore(conn: sqlite3.Connection) -> list[str]:
    """Build the indexes a pull deferred, if any are recorded, in one transaction of its own; their names."""
    if not _recorded(conn):
        return []
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = _recorded(conn)
        present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        for name, sql in found.items():
            if name not in present:
                conn.execute(sql)
        conn.execute("DELETE FROM settings WHERE key = ?", (RECORD,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return list(found)


def _recorded(conn: sqlite3.Connection) -> dict[str, str]:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (RECORD,)).fetchone()
    return json.loads(row[0]) if row else {}
