"""Members, family links and inpatient episodes in the local cache."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter

from ..domain.member import MemberRecord
from ..domain.money import from_fen
from ..domain.vocabulary import MEMBER_COLUMNS as COLUMNS


@lru_cache(maxsize=8192)
def _initial(char: str) -> str:
    from pypinyin import Style, lazy_pinyin  # on first use (0.4 s, 56 MB): see catalogue.name_initials

    letters = lazy_pinyin(char, style=Style.FIRST_LETTER, errors="ignore")
    return letters[0].lower() if letters else char.lower()


def name_initials(name: str) -> str:
    """Pinyin initials for search: 张伟 -> zw (a cashier types zw to find 张伟)."""
    return "".join(_initial(c) for c in name if not c.isspace())


# A row's columns are the record's fields, in order: the first ten as stored, then four converted.
assert COLUMNS == tuple(f.name for f in dataclasses.fields(MemberRecord)), "MEMBER_COLUMNS and MemberRecord differ"


def _record(row: sqlite3.Row | tuple) -> MemberRecord:
    """A member from a row of ``COLUMNS`` (every lookup makes one: positional, no dict on the way)."""
    return MemberRecord(*row[:10], bool(row[10]), tuple(json.loads(row[11])), row[12], from_fen(row[13]))


_SELECT = f"SELECT {', '.join(COLUMNS)} FROM members"


def get(conn: sqlite3.Connection, psn_no: str) -> MemberRecord | None:
    row = conn.execute(f"{_SELECT} WHERE psn_no = ?", (psn_no,)).fetchone()
    return _record(row) if row else None


def by_certno(conn: sqlite3.Connection, certno: str) -> MemberRecord | None:
    row = conn.execute(f"{_SELECT} WHERE certno = ?", (certno,)).fetchone()
    return _record(row) if row else None


def search_name(conn: sqlite3.Connection, text: str, limit: int = 20) -> list[MemberRecord]:
    """Members whose name starts with ``text``, or whose pinyin initials start with it (``zw``)."""
    text = text.strip()
    if not text:
        return []
    column, order = ("name_initials", "name_initials, name, psn_no") if text.isascii() else ("name", "name, psn_no")
    key = text.lower() if text.isascii() else text
    # A range on the index, not LIKE: LIKE cannot use a plain index for CJK prefixes.  The order is the index's
    # own (migration 0009), so the first ``limit`` rows are read, not every match sorted.
    rows = conn.execute(
        f"{_SELECT} WHERE {column} >= ? AND {column} < ? ORDER BY {order} LIMIT ?",
        (key, key + "\U0010ffff", limit),
    ).fetchall()
    return [_record(r) for r in rows]


def upsert(conn: sqlite3.Connection, record: MemberRecord, now: str) -> None:
    from ..domain.money import to_fen

    conn.execute(
        f"INSERT INTO members ({', '.join(COLUMNS)}, name_initials, updated_at) "
        f"VALUES ({', '.join('?' * (len(COLUMNS) + 2))}) "
        "ON CONFLICT(psn_no) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:] if c != "account_balance")
        + ", name_initials = excluded.name_initials, updated_at = excluded.updated_at",
        (
            record.psn_no,
            record.certno,
            record.name,
            record.sex,
            record.birth_date,
            record.insutype,
            record.status,
            record.status_since,
            record.scheme,
            record.region,
            int(record.civil_servant),
            json.dumps(list(record.programmes)),
            record.designated_facility,
            to_fen(record.account_balance),
            name_initials(record.name),
            now,
        ),
    )


_UPSERT_MANY = (
    f"INSERT INTO members ({', '.join(COLUMNS)}, name_initials, updated_at) "
    f"VALUES ({', '.join('?' * (len(COLUMNS) + 2))}) "
    "ON CONFLICT(psn_no) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:] if c != "account_balance")
    + ", name_initials = excluded.name_initials, updated_at = excluded.updated_at"
)

_PLAIN = itemgetter(*COLUMNS[:10])  # psn_no … region: stored as given


def upsert_many(
    conn: sqlite3.Connection, rows: Iterable[Mapping], now: str, opening: Mapping[str, int] | None = None
) -> None:
    """Insert or update many members in one statement; each row maps ``MEMBER_COLUMNS`` (``programmes`` a list).

    A new member's account opens at ``opening[psn_no]`` fen (0 if not given), which the caller records in
    the ledger; an existing member keeps the balance it has, whatever the row says: an account moves only
    through its ledger (``journal.account_entry``).  Pinyin initials are worked out once per distinct name
    (a region has many 张伟).
    """
    initials: dict[str, str] = {}
    opening = opening or {}

    def values(row: Mapping) -> tuple:
        name = row["name"]
        if name not in initials:
            initials[name] = name_initials(name)
        return (
            *_PLAIN(row),
            int(row["civil_servant"]),
            json.dumps(list(row["programmes"])) if row["programmes"] else "[]",
            row["designated_facility"],
            opening.get(row["psn_no"], 0),
            initials[name],
            now,
        )

    conn.executemany(_UPSERT_MANY, map(values, rows))


def inpatient_on(conn: sqlite3.Connection, psn_no: str, day: dt.date) -> bool:
    iso = day.isoformat()
    return (
        conn.execute(
            "SELECT 1 FROM inpatient_episodes WHERE psn_no = ? AND admitted <= ? "
            "AND (discharged IS NULL OR discharged >= ?)",
            (psn_no, iso, iso),
        ).fetchone()
        is not None
    )


def relation(conn: sqlite3.Connection, owner: str, relative: str) -> str | None:
    """How ``relative`` is related to ``owner`` (whose account would pay), or None."""
    row = conn.execute(
        "SELECT relation FROM family_links WHERE owner_psn_no = ? AND relative_psn_no = ?", (owner, relative)
    ).fetchone()
    return row[0] if row else None


def account_owners_for(conn: sqlite3.Connection, relative: str) -> list[tuple[MemberRecord, str]]:
    """Family members whose accounts are linked to pay for ``relative``, with the relation."""
    rows = conn.execute(
        "SELECT owner_psn_no, relation FROM family_links WHERE relative_psn_no = ?", (relative,)
    ).fetchall()
    return [(get(conn, owner), rel) for owner, rel in rows]


def balance(conn: sqlite3.Connection, psn_no: str) -> Decimal:
    row = conn.execute("SELECT account_balance FROM members WHERE psn_no = ?", (psn_no,)).fetchone()
    return from_fen(row[0])


# ---------------------------------------------------------------- bulk import (the back office)


def _chunks(values: list[str], size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def certno_owners(conn: sqlite3.Connection, certnos: list[str]) -> dict[str, str]:
    """ID number -> psn_no, for those of ``certnos`` already stored."""
    found: dict[str, str] = {}
    for chunk in _chunks(certnos):
        marks = ", ".join("?" * len(chunk))
        found.update(conn.execute(f"SELECT certno, psn_no FROM members WHERE certno IN ({marks})", chunk).fetchall())
    return found


def stored(conn: sqlite3.Connection, psn_nos: list[str]) -> set[str]:
    """Those of ``psn_nos`` already in the member cache."""
    found: set[str] = set()
    for chunk in _chunks(psn_nos):
        marks = ", ".join("?" * len(chunk))
        found.update(r[0] for r in conn.execute(f"SELECT psn_no FROM members WHERE psn_no IN ({marks})", chunk))
    return found


def insert_new(conn: sqlite3.Connection, records: list[MemberRecord], now: str) -> None:
    """New members, each with its opening account balance in the ledger (inside the caller's transaction)."""
    from ..domain.money import to_fen

    rows, ledger = [], []
    for r in records:
        fen = to_fen(r.account_balance)
        rows.append(
            (
                *(r.psn_no, r.certno, r.name, r.sex, r.birth_date, r.insutype, r.status, r.status_since, r.scheme),
                *(r.region, int(r.civil_servant), json.dumps(list(r.programmes)), r.designated_facility, fen),
                name_initials(r.name),
                now,
            )
        )
        if fen:
            ledger.append((r.psn_no, None, fen, "opening", now))
    conn.executemany(
        f"INSERT INTO members ({', '.join(COLUMNS)}, name_initials, updated_at) "
        f"VALUES ({', '.join('?' * (len(COLUMNS) + 2))})",
        rows,
    )
    conn.executemany(
        "INSERT INTO account_entries (psn_no, settlement_uuid, delta, reason, at) VALUES (?, ?, ?, ?, ?)", ledger
    )
