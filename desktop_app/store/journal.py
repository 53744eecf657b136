"""The settlement journal, with the yearly usage, the account ledger and the outbox it drives.

:func:`record` writes one journal entry and, in the same (caller's) transaction,
moves the usage counters, the account balances and queues the entry for sync.
A refund is an entry of kind ``refund`` with negated amounts and
``original_uuid`` set; the UNIQUE key on ``original_uuid`` allows one per original.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import orjson

from ..domain.case import Usage
from ..domain.frozen import quick_init
from ..domain.money import from_fen
from ..domain.vocabulary import COUNTERS
from . import tracing


@quick_init  # one a confirm, made by keyword: see domain.frozen
@dataclass(frozen=True)
class Entry:
    """One journal row; amounts in integer fen (negative for a refund)."""

    uuid: str
    kind: str
    original_uuid: str | None
    psn_no: str
    year: int
    visit_date: str
    region: str
    facility_id: str | None
    operator: str
    device: str
    created_at: str
    medfee_sumamt: int
    hifp_pay: int
    acct_pay: int
    acct_mulaid_pay: int
    family_payer: str | None
    psn_cash_pay: int
    deductible: int
    pool: int
    programme_hypertension: int
    programme_diabetes: int
    input_json: str
    output_json: str

    def counters(self) -> dict[str, int]:
        return {c: getattr(self, c) for c in COUNTERS}


_FIELDS = tuple(Entry.__dataclass_fields__)
_INSERT = f"INSERT INTO settlements ({', '.join(_FIELDS)}, offline) VALUES ({', '.join('?' * len(_FIELDS))}, 1)"


def usage(conn: sqlite3.Connection, psn_no: str, year: int) -> Usage:
    """The member's counters for ``year`` (zero at the start of a calendar year)."""
    values = dict.fromkeys(COUNTERS, 0)
    for counter, amount in conn.execute(
        "SELECT counter, amount FROM usage WHERE psn_no = ? AND year = ?", (psn_no, year)
    ):
        values[counter] = amount
    return Usage(
        deductible_paid=from_fen(values["deductible"]),
        pool_paid=from_fen(values["pool"]),
        programme_paid={
            "hypertension": from_fen(values["programme_hypertension"]),
            "diabetes": from_fen(values["programme_diabetes"]),
        },
    )


def record(conn: sqlite3.Connection, entry: Entry) -> None:
    """Write ``entry`` and everything it moves; the caller holds the transaction."""
    conn.execute(_INSERT, [getattr(entry, f) for f in _FIELDS])  # every field a str, int or None: no asdict copy
    conn.executemany(
        "INSERT INTO usage VALUES (?, ?, ?, ?) ON CONFLICT(psn_no, year, counter) "
        "DO UPDATE SET amount = amount + excluded.amount",
        [(entry.psn_no, entry.year, counter, amount) for counter, amount in entry.counters().items() if amount],
    )
    reason = "payment" if entry.kind == "settlement" else "refund"
    for owner, amount in ((entry.psn_no, entry.acct_pay), (entry.family_payer, entry.acct_mulaid_pay)):
        if owner and amount:
            account_entry(conn, owner, -amount, reason, entry.created_at, entry.uuid)
    if entry.original_uuid is not None:  # a refund gives the packages back: their traceability codes are released
        tracing.release(conn, entry.original_uuid, entry.uuid)
    conn.execute(
        "INSERT INTO outbox (uuid, kind, created_at) VALUES (?, ?, ?)", (entry.uuid, entry.kind, entry.created_at)
    )


def account_entry(
    conn: sqlite3.Connection, psn_no: str, delta: int, reason: str, at: str, uuid: str | None = None
) -> None:
    """Move a personal account; the CHECK on members refuses a negative balance."""
    conn.execute(
        "INSERT INTO account_entries (psn_no, settlement_uuid, delta, reason, at) VALUES (?, ?, ?, ?, ?)",
        (psn_no, uuid, delta, reason, at),
    )
    conn.execute("UPDATE members SET account_balance = account_balance + ? WHERE psn_no = ?", (delta, psn_no))


def get(conn: sqlite3.Connection, uuid: str) -> Entry | None:
    row = conn.execute(f"SELECT {', '.join(_FIELDS)} FROM settlements WHERE uuid = ?", (uuid,)).fetchone()
    return Entry(*row) if row else None


def refund_of(conn: sqlite3.Connection, uuid: str) -> str | None:
    row = conn.execute("SELECT uuid FROM settlements WHERE original_uuid = ?", (uuid,)).fetchone()
    return row[0] if row else None


def output(entry: Entry) -> dict:
    return json.loads(entry.output_json)


def output_json(out: dict) -> str:
    """A settlement's record as the journal keeps it: compact JSON, UTF-8 text (orjson: a tenth of json's time)."""
    return orjson.dumps(out).decode()
