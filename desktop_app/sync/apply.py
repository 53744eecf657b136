"""Applying one change pulled from the hub to the desk's store, by its kind.

The hub is the authority on yearly usage and account balances.  When it sends
a member's figures, the desk replaces its own with them plus whatever the desk
settled that the hub has not yet counted, and records the difference as a
correction (``usage_adjustments``, ledger reason ``sync``), so ``verify`` still
proves every figure from its sources.  Members, family links, catalogue items and
published figures are taken as the hub sends them; a region's rules are noted, with
a warning when the desk's own rule files differ.

:func:`.client.pull` calls :func:`apply_change` for each change of a page, in the page's transaction.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from ..domain.catalogue import CatalogueItem
from ..domain.clock import now_iso
from ..domain.member import MemberRecord
from ..domain.vocabulary import COUNTERS
from ..store import catalogue, config, journal, members
from .protocol import Change


def apply_change(conn: sqlite3.Connection, change: Change, warnings: list[str]) -> None:
    """Apply ``change`` in the caller's transaction; a difference the desk should act on is added to ``warnings``."""
    _BY_KIND[change.kind](conn, change, warnings)


def _pending(conn: sqlite3.Connection, where: str, args: tuple, seq: int, columns: str) -> list[int]:
    """Sums of this desk's entries the hub had not counted as of change ``seq``: unsent, set aside, or counted later."""
    row = conn.execute(
        f"SELECT {columns} FROM settlements s JOIN outbox o ON o.uuid = s.uuid WHERE {where} "
        "AND (o.sent_at IS NULL OR o.status = 'set_aside' OR o.server_seq > ?)",
        (*args, seq),
    ).fetchone()
    return [v or 0 for v in row]


def _apply_usage(conn: sqlite3.Connection, change: Change, warnings: list[str]) -> None:
    psn_no, year, server = change.data["psn_no"], int(change.data["year"]), change.data["counters"]
    if members.get(conn, psn_no) is None:
        return
    pending = dict(
        zip(
            COUNTERS,
            _pending(
                conn,
                "s.psn_no = ? AND s.year = ?",
                (psn_no, year),
                change.seq,
                ", ".join(f"sum(s.{c})" for c in COUNTERS),
            ),
        )
    )
    local = dict(
        conn.execute("SELECT counter, amount FROM usage WHERE psn_no = ? AND year = ?", (psn_no, year)).fetchall()
    )
    for counter in COUNTERS:
        delta = server.get(counter, 0) + pending[counter] - local.get(counter, 0)
        if delta:
            conn.execute(
                "INSERT INTO usage_adjustments (psn_no, year, counter, delta, server_seq, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (psn_no, year, counter, delta, change.seq, now_iso()),
            )
            conn.execute(
                "INSERT INTO usage VALUES (?, ?, ?, ?) ON CONFLICT(psn_no, year, counter) "
                "DO UPDATE SET amount = amount + excluded.amount",
                (psn_no, year, counter, delta),
            )


def _apply_member(conn: sqlite3.Connection, change: Change, warnings: list[str]) -> None:
    data = dict(change.data)
    server_balance = data.pop("account_balance")
    record = MemberRecord(**{**data, "programmes": tuple(data["programmes"]), "account_balance": Decimal(0)})
    members.upsert(conn, record, now_iso())
    [own] = _pending(conn, "s.psn_no = ?", (record.psn_no,), change.seq, "sum(s.acct_pay)")
    [family] = _pending(conn, "s.family_payer = ?", (record.psn_no,), change.seq, "sum(s.acct_mulaid_pay)")
    # Two desks offline can both spend one account: the hub then holds an overdraft (recorded there for
    # review); the desk shows what is really left, which is nothing.
    target = max(0, server_balance - own - family)
    current = conn.execute("SELECT account_balance FROM members WHERE psn_no = ?", (record.psn_no,)).fetchone()[0]
    if target != current:
        journal.account_entry(conn, record.psn_no, target - current, "sync", now_iso())


def _apply_family(conn: sqlite3.Connection, change: Change, warnings: list[str]) -> None:
    d = change.data
    if members.get(conn, d["owner_psn_no"]) and members.get(conn, d["relative_psn_no"]):
        conn.execute(
            "INSERT OR REPLACE INTO family_links VALUES (?, ?, ?)",
            (d["owner_psn_no"], d["relative_psn_no"], d["relation"]),
        )


def _apply_catalogue(conn: sqlite3.Connection, change: Change, warnings: list[str]) -> None:
    # Through the store, so the item's 助记码 is computed with it; an older hub's entry has no spec or maker.
    catalogue.upsert(conn, CatalogueItem.from_row(change.data))


def _apply_published(conn: sqlite3.Connection, change: Change, warnings: list[str]) -> None:
    d = change.data
    config.put_published(conn, d["region"], d["name"], d["year"], Decimal(d["value"]))


def _apply_rules(conn: sqlite3.Connection, change: Change, warnings: list[str]) -> None:
    from ..rule_files import region_digest

    d = change.data
    config.put(conn, f"hub.rules.{d['region']}", f"{d['label']} {d['digest']}")
    if d["region"] == config.get(conn, "region") and region_digest(d["region"]) != d["digest"]:
        warnings.append(f"中心的 {d['region']} 规则（{d['label']}）与本机不同：请更新本机规则文件")


_BY_KIND = {
    "usage": _apply_usage,
    "member": _apply_member,
    "family_link": _apply_family,
    "catalogue_item": _apply_catalogue,
    "published_figure": _apply_published,
    "rules": _apply_rules,
}
