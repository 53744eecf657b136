"""Applying the changes pulled from the hub to the desk's store, a page at a time, by kind.

The hub is the authority on yearly usage and account balances.  When it sends
a member's figures, the desk replaces its own with them plus whatever the desk
settled that the hub has not yet counted, and records the difference as a
correction (``usage_adjustments``, ledger reason ``sync``), so ``verify`` still
proves every figure from its sources.  Members, family links, catalogue items and
published figures are taken as the hub sends them; a region's rules are noted, with
a warning when the desk's own rule files differ.

:func:`.feed.pull` calls :func:`apply_page` for each page, in the page's transaction.  Changes
are plain mappings as the wire carries them (``seq``, ``kind``, ``key``, ``data``: a
``protocol.Change``).  A page goes in batches of consecutive changes of one kind, each batch a
few statements over all its rows (``executemany``) instead of a few per change.  A batch ends
where a member (or a member's year) comes again, so every change meets the state the one
before it left: a page applied at once ends as its changes applied one at a time would.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Mapping
from decimal import Decimal
from operator import itemgetter

from ..domain.catalogue import CatalogueItem
from ..domain.clock import now_iso
from ..domain.vocabulary import COUNTERS, MEMBER_COLUMNS
from ..store import catalogue, config, members
from .protocol import Change

Changes = list[Mapping]


def apply_page(conn: sqlite3.Connection, changes: Changes, warnings: list[str]) -> None:
    """Apply a page of changes in feed order, in the caller's transaction; anything to act on goes to ``warnings``."""
    for kind, batch in _batches(changes):
        _BY_KIND[kind](conn, batch, warnings)


def apply_change(conn: sqlite3.Connection, change: Change, warnings: list[str]) -> None:
    """Apply one change (a page of one)."""
    apply_page(conn, [change.model_dump()], warnings)


_REPEATS = {"member": lambda d: d["psn_no"], "usage": lambda d: (d["psn_no"], int(d["year"]))}


def _batches(changes: Changes) -> Iterator[tuple[str, Changes]]:
    """Runs of one kind; a member's (or a member-year's) second change starts a new run."""
    start, end = 0, len(changes)
    while start < end:
        kind, stop = changes[start]["kind"], start + 1
        repeat = _REPEATS.get(kind)
        seen = {repeat(changes[start]["data"])} if repeat else None
        while stop < end and changes[stop]["kind"] == kind:
            if repeat:
                key = repeat(changes[stop]["data"])
                if key in seen:
                    break
                seen.add(key)
            stop += 1
        yield kind, changes[start:stop]
        start = stop


# --------------------------------------------------------------------------- what the hub has not counted


class _Uncounted:
    """This desk's entries for some members that the hub had not counted as of a change.

    An entry is uncounted as of change ``seq`` while it is unsent or set aside, or the hub counted it in
    a later change (``server_seq > seq``).  One query per batch reads every entry uncounted as of the
    batch's first change, for its members as payer or as family payer; each change then takes its own.
    """

    _COLUMNS = ("psn_no", "family_payer", "year", "acct_pay", "acct_mulaid_pay", *COUNTERS)

    def __init__(self, conn: sqlite3.Connection, psn_nos: list[str], seq: int) -> None:
        names = json.dumps(psn_nos)
        # outbox first (CROSS JOIN keeps that order): its rows are narrow, and family_payer has no index.
        rows = conn.execute(
            f"SELECT {', '.join(f's.{c}' for c in self._COLUMNS)}, "
            "o.sent_at IS NULL OR o.status = 'set_aside', o.server_seq "
            "FROM outbox o CROSS JOIN settlements s ON s.uuid = o.uuid "
            "WHERE (o.sent_at IS NULL OR o.status = 'set_aside' OR o.server_seq > ?) "
            "AND (s.psn_no IN (SELECT value FROM json_each(?)) OR s.family_payer IN (SELECT value FROM json_each(?)))",
            (seq, names, names),
        ).fetchall()
        self._by_member: dict[str, list[tuple]] = defaultdict(list)
        self._by_family_payer: dict[str, list[tuple]] = defaultdict(list)
        for row in rows:
            self._by_member[row[0]].append(row)
            if row[1] is not None:
                self._by_family_payer[row[1]].append(row)

    def balance(self, psn_no: str, seq: int, hub_balance: int) -> int:
        """The balance the desk shows after change ``seq``: the hub's, less what its uncounted entries took."""
        if psn_no not in self._by_member and psn_no not in self._by_family_payer:
            return max(0, hub_balance)
        [own] = self.own(psn_no, seq, ("acct_pay",))
        # Two desks offline can both spend one account: the hub then holds an overdraft (recorded there for
        # review); the desk shows what is really left, which is nothing.
        return max(0, hub_balance - own - self.for_family(psn_no, seq))

    def own(self, psn_no: str, seq: int, columns: tuple[str, ...], year: int | None = None) -> list[int]:
        """Sums of ``columns`` over the member's own entries uncounted as of change ``seq`` (of ``year``, if given)."""
        return self._sums(self._by_member.get(psn_no), seq, columns, year)

    def for_family(self, psn_no: str, seq: int) -> int:
        """What the member's account paid for family members in entries uncounted as of change ``seq``."""
        return self._sums(self._by_family_payer.get(psn_no), seq, ("acct_mulaid_pay",), None)[0]

    def _sums(self, rows: list[tuple] | None, seq: int, columns: tuple[str, ...], year: int | None) -> list[int]:
        if not rows:
            return [0] * len(columns)
        found = [r for r in rows if (r[-2] or (r[-1] is not None and r[-1] > seq)) and (year is None or r[2] == year)]
        return [sum(r[self._COLUMNS.index(c)] for r in found) for c in columns]


def _held(conn: sqlite3.Connection, psn_nos: list[str]) -> dict[str, int]:
    """Which of these members the desk holds, with their account balances."""
    rows = conn.execute(
        "SELECT psn_no, account_balance FROM members WHERE psn_no IN (SELECT value FROM json_each(?))",
        (json.dumps(psn_nos),),
    )
    return dict(rows.fetchall())


# --------------------------------------------------------------------------- by kind


_MEMBER_FIELDS = frozenset(MEMBER_COLUMNS)


def _apply_members(conn: sqlite3.Connection, batch: Changes, warnings: list[str]) -> None:
    now = now_iso()
    for change in batch:
        if change["data"].keys() != _MEMBER_FIELDS:
            raise ValueError(
                f"变更 {change['seq']}（member）字段不符：{sorted(change['data'].keys() ^ _MEMBER_FIELDS)}"
            )
    psn_nos = [c["data"]["psn_no"] for c in batch]
    held = _held(conn, psn_nos)
    uncounted = _Uncounted(conn, psn_nos, batch[0]["seq"])
    targets = {p: uncounted.balance(p, c["seq"], c["data"]["account_balance"]) for c, p in zip(batch, psn_nos)}
    members.upsert_many(conn, (c["data"] for c in batch), now, opening=targets)  # a new member opens at its target
    # Each account that differs moves to its target through the ledger, as journal.account_entry moves it.
    moves = [(p, t - held.get(p, 0), now) for p, t in targets.items() if t != held.get(p, 0)]
    conn.executemany("INSERT INTO account_entries (psn_no, delta, reason, at) VALUES (?, ?, 'sync', ?)", moves)
    conn.executemany(
        "UPDATE members SET account_balance = account_balance + ? WHERE psn_no = ?",
        [(delta, p) for p, delta, _ in moves if p in held],
    )


def _apply_usage(conn: sqlite3.Connection, batch: Changes, warnings: list[str]) -> None:
    psn_nos = list({c["data"]["psn_no"] for c in batch})
    known = _held(conn, psn_nos)
    uncounted = _Uncounted(conn, psn_nos, batch[0]["seq"])
    local: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    for psn_no, year, counter, amount in conn.execute(
        "SELECT psn_no, year, counter, amount FROM usage WHERE psn_no IN (SELECT value FROM json_each(?))",
        (json.dumps(psn_nos),),
    ):
        local[psn_no, year][counter] = amount
    now, moves = now_iso(), []
    for change in batch:
        psn_no, year, server = change["data"]["psn_no"], int(change["data"]["year"]), change["data"]["counters"]
        if psn_no not in known:
            continue
        pending = uncounted.own(psn_no, change["seq"], COUNTERS, year)
        for counter, uncounted_amount in zip(COUNTERS, pending):
            delta = server.get(counter, 0) + uncounted_amount - local[psn_no, year].get(counter, 0)
            if delta:
                moves.append((psn_no, year, counter, delta, change["seq"], now))
    conn.executemany(
        "INSERT INTO usage_adjustments (psn_no, year, counter, delta, server_seq, at) VALUES (?, ?, ?, ?, ?, ?)", moves
    )
    conn.executemany(
        "INSERT INTO usage VALUES (?, ?, ?, ?) ON CONFLICT(psn_no, year, counter) "
        "DO UPDATE SET amount = amount + excluded.amount",
        [m[:4] for m in moves],
    )


def _apply_family(conn: sqlite3.Connection, batch: Changes, warnings: list[str]) -> None:
    """Links between members the desk holds (a link to anyone else is left out, as before).

    Which members the desk holds is read once for the batch (a member is named by several links), not twice
    for each link.
    """
    links = [_LINK(c["data"]) for c in batch]
    held = _held(conn, sorted({psn for owner, relative, _ in links for psn in (owner, relative)}))
    conn.executemany(
        "INSERT OR REPLACE INTO family_links (owner_psn_no, relative_psn_no, relation) VALUES (?, ?, ?)",
        [link for link in links if link[0] in held and link[1] in held],
    )


_LINK = itemgetter("owner_psn_no", "relative_psn_no", "relation")


def _apply_catalogue(conn: sqlite3.Connection, batch: Changes, warnings: list[str]) -> None:
    # Through the store, so each item's 助记码 is computed with it; an older hub's entry has no spec or maker.
    for change in batch:
        catalogue.upsert(conn, CatalogueItem.from_row(change["data"]))


def _apply_published(conn: sqlite3.Connection, batch: Changes, warnings: list[str]) -> None:
    for change in batch:
        d = change["data"]
        config.put_published(conn, d["region"], d["name"], d["year"], Decimal(d["value"]))


def _apply_rules(conn: sqlite3.Connection, batch: Changes, warnings: list[str]) -> None:
    from ..rule_files import region_digest

    for change in batch:
        d = change["data"]
        config.put(conn, f"hub.rules.{d['region']}", f"{d['label']} {d['digest']}")
        if d["region"] == config.get(conn, "region") and region_digest(d["region"]) != d["digest"]:
            warnings.append(f"中心的 {d['region']} 规则（{d['label']}）与本机不同：请更新本机规则文件")


_BY_KIND = {
    "usage": _apply_usage,
    "member": _apply_members,
    "family_link": _apply_family,
    "catalogue_item": _apply_catalogue,
    "published_figure": _apply_published,
    "rules": _apply_rules,
}
KINDS = frozenset(_BY_KIND)
