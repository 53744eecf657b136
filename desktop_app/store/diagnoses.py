"""The diagnosis catalogue (诊断目录) on this desk: found by code, pinyin initials or name; a visit's diagnoses."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ..domain.diagnosis import Diagnosis

_SELECT = "SELECT code, name, initials FROM diagnoses"


def get(conn: sqlite3.Connection, code: str) -> Diagnosis | None:
    row = conn.execute(f"{_SELECT} WHERE code = ?", (code,)).fetchone()
    return Diagnosis(*row) if row else None


def by_name(conn: sqlite3.Connection, name: str) -> Diagnosis | None:
    """The diagnosis of exactly this name (a prescription's diagnosis as written), or None."""
    row = conn.execute(f"{_SELECT} WHERE name = ? ORDER BY code LIMIT 1", (name.strip(),)).fetchone()
    return Diagnosis(*row) if row else None


def search(conn: sqlite3.Connection, text: str, limit: int = 20) -> list[Diagnosis]:
    """Diagnoses a cashier means by ``text``: the exact code first, then codes and pinyin initials starting so
    (letters and digits: ``i10``, ``gxy``), or names starting so, then names containing it (Chinese: ``高血压``).

    Each part is an index range, never a scan, except the names containing the text, which are looked for
    only when the ranges found fewer than ``limit``.
    """
    text = text.strip()
    if not text:
        return []
    found: dict[str, Diagnosis] = {}

    def take(sql: str, args: tuple) -> None:
        for row in conn.execute(f"{_SELECT} WHERE {sql} LIMIT ?", (*args, limit - len(found))):
            found.setdefault(row[0], Diagnosis(*row))

    if text.isascii():
        code = text[:1].upper() + text[1:]
        take("code = ?", (code,))
        if len(found) < limit:
            take("code >= ? AND code < ? ORDER BY code", (code, code + "\U0010ffff"))
        if len(found) < limit:
            low = text.lower()
            take("initials >= ? AND initials < ? ORDER BY initials, code", (low, low + "\U0010ffff"))
    else:
        take("name >= ? AND name < ? ORDER BY name, code", (text, text + "\U0010ffff"))
        if len(found) < limit:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            take("name LIKE ? ESCAPE '\\' ORDER BY length(name), code", (f"%{escaped}%",))
    return list(found.values())[:limit]


def replace_all(conn: sqlite3.Connection, rows: Iterable[Diagnosis]) -> int:
    """Write (insert or replace) each diagnosis, its initials computed from its name; how many."""
    from .catalogue import name_initials

    data = [(d.code, d.name, name_initials(d.name)) for d in rows]
    conn.executemany("INSERT OR REPLACE INTO diagnoses VALUES (?, ?, ?)", data)
    return len(data)


def count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM diagnoses").fetchone()[0]


def record_visit(conn: sqlite3.Connection, uuid: str, diagnoses: Iterable[Diagnosis]) -> None:
    conn.executemany(
        "INSERT INTO visit_diagnoses VALUES (?, ?, ?, ?)", [(uuid, i, d.code, d.name) for i, d in enumerate(diagnoses)]
    )
