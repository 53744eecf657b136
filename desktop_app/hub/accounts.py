"""Each member's figures at the hub: data and account balance, yearly usage counters, hospital stays.

A member's balance is always the opening balance less what the hub's own settlements took
(:func:`move`); the agency's top-up or correction moves the opening figure (:func:`put_member`).
Usage counters start from the opening usage and move only by the hub's own figures (:func:`move`).
A push reads what it needs for all the batch's members at once (:func:`members_of`, :func:`usage_of`
…, each one statement compiled once and reused) and writes every counter and balance it moved in
one statement each.  Every function here runs in the caller's transaction (``schema.writing`` where
it writes); a writer locks the members' rows (:func:`members_of` with ``lock``) before anything else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import any_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from .schema import (
    execute_many,
    family_links,
    inpatient_episodes,
    members,
    opening_balances,
    publish,
    settlements,
    upsert,
    usage,
)

CHUNK = 500  # keys per IN list: far below SQLite's and PostgreSQL's limits on bound parameters


@dataclass(frozen=True)
class Holder:
    """A member's row at the hub: region, data (as stored, JSON) and account balance in fen."""

    region: str
    data: str
    balance: int


def keyed(build) -> dict:
    """A statement over lists of keys, for each database: ``IN (…)`` on SQLite; on PostgreSQL ``= ANY(array)``,
    one parameter a list, so the statement's text is the same for any number of keys (planned once).

    ``build(within)`` makes the statement; ``within(column, name="keys")`` is the condition on one list.
    """

    def listed(column, name="keys"):
        return column.in_(bindparam(name, expanding=True))

    def array(column, name="keys"):
        return column == any_(bindparam(name, type_=ARRAY(column.type)))

    return {"sqlite": build(listed), "postgresql": build(array)}


def each(conn: Connection, stmts: dict, keys: Iterable[str], **params) -> list:
    """Rows of the statement made by :func:`keyed` for all ``keys``, a few hundred to a statement.

    A key the database cannot hold (a NUL character) is never sent: no row has it.
    """
    stmt = stmts[conn.dialect.name]
    wanted = sorted({k for k in keys if k is not None and "\x00" not in k})
    rows = []
    for start in range(0, len(wanted), CHUNK):
        rows += conn.execute(stmt, {"keys": wanted[start : start + CHUNK], **params}).all()
    return rows


def _members():
    return select(members.c.psn_no, members.c.region, members.c.data, members.c.account_balance)


_MEMBERS = keyed(lambda within: _members().where(within(members.c.psn_no)))
_MEMBERS_LOCKED = keyed(  # in one order: no two writers deadlock
    lambda within: _members().where(within(members.c.psn_no)).order_by(members.c.psn_no).with_for_update()
)
_USAGE = keyed(
    lambda within: select(usage.c.psn_no, usage.c.year, usage.c.counter, usage.c.amount).where(
        within(usage.c.psn_no) & within(usage.c.year, "years")
    )
)
_STAYS = keyed(
    lambda within: select(
        inpatient_episodes.c.psn_no, inpatient_episodes.c.admitted, inpatient_episodes.c.discharged
    ).where(within(inpatient_episodes.c.psn_no))
)
_LINKS = keyed(
    lambda within: select(family_links.c.owner_psn_no, family_links.c.relative_psn_no, family_links.c.relation).where(
        within(family_links.c.owner_psn_no)
    )
)


def members_of(conn: Connection, psns: Iterable[str], lock: bool = False) -> dict[str, Holder]:
    """The members' rows by psn_no; with ``lock`` (PostgreSQL) each row stays locked until the transaction ends."""
    return {
        r.psn_no: Holder(r.region, r.data, r.account_balance)
        for r in each(conn, _MEMBERS_LOCKED if lock else _MEMBERS, psns)
    }


def usage_of(conn: Connection, pairs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], dict[str, int]]:
    """Each (member, year)'s usage counters as the hub holds them now (an empty dict for none yet)."""
    pairs = set(pairs)
    found: dict[tuple[str, int], dict[str, int]] = {pair: {} for pair in pairs}
    years = sorted({year for _, year in pairs})
    for r in each(conn, _USAGE, (psn for psn, _ in pairs), years=years):
        if (r.psn_no, r.year) in found:
            found[(r.psn_no, r.year)][r.counter] = r.amount
    return found


def usage_before(conn: Connection, psn_no: str, year: int) -> dict[str, int]:
    """One member's usage counters for the year as the hub holds them now (what a settlement starts from)."""
    return usage_of(conn, [(psn_no, year)])[(psn_no, year)]


def stays_of(conn: Connection, psns: Iterable[str]) -> dict[str, list[tuple[str, str | None]]]:
    """Each member's hospital stays: (admitted, discharged or None while still in)."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    for r in each(conn, _STAYS, psns):
        found.setdefault(r.psn_no, []).append((r.admitted, r.discharged))
    return found


def links_of(conn: Connection, owners: Iterable[str]) -> dict[tuple[str, str], str]:
    """The family links of these account owners: (owner, relative) → relation."""
    return {(r.owner_psn_no, r.relative_psn_no): r.relation for r in each(conn, _LINKS, owners)}


def in_hospital(stays: list[tuple[str, str | None]], day: str) -> bool:
    """Whether one of the stays covers ``day`` (no ordinary pooling then, where a document says so)."""
    return any(admitted <= day and (discharged is None or discharged >= day) for admitted, discharged in stays)


# --------------------------------------------------------------------------- moving the figures


def _add_usage(insert):
    stmt = insert(usage)
    return stmt.on_conflict_do_update(
        index_elements=["psn_no", "year", "counter"], set_={"amount": usage.c.amount + stmt.excluded.amount}
    )


_ADD_USAGE = {"sqlite": _add_usage(sqlite.insert), "postgresql": _add_usage(postgresql.insert)}
_SPEND = (
    update(members)
    .where(members.c.psn_no == bindparam("who"))
    .values(account_balance=members.c.account_balance - bindparam("amount"))
)


def move(conn: Connection, counters: dict[tuple[str, int, str], int], spent: dict[str, int]) -> None:
    """Add to the usage counters and take from the account balances (a refund's are negative), one statement each.

    Every counter an entry moved gets its row, even when the batch's entries sum to nothing there (a visit
    and its refund): as if they had been written one by one.
    """
    rows = [{"psn_no": p, "year": y, "counter": c, "amount": a} for (p, y, c), a in sorted(counters.items())]
    if rows:
        execute_many(conn, _ADD_USAGE[conn.dialect.name], rows)
    taken = [{"who": p, "amount": a} for p, a in sorted(spent.items()) if a]
    if taken:
        execute_many(conn, _SPEND, taken)


# --------------------------------------------------------------------------- the agency's figures


def put_member(conn: Connection, data: dict, balance: int) -> int:
    """A member's data and account balance from the agency (a top-up or correction moves the opening figure)."""
    members_of(conn, [data["psn_no"]], lock=True)  # a push for this member waits, and is not half-counted below
    spent = _spent(conn, data["psn_no"])
    upsert(
        conn,
        members,
        {
            "psn_no": data["psn_no"],
            "region": data["region"],
            "data": json.dumps(data, ensure_ascii=False),
            "account_balance": balance,
        },
    )
    upsert(conn, opening_balances, {"psn_no": data["psn_no"], "amount": balance + spent})
    return publish(conn, "member", data["psn_no"], data["region"], {**data, "account_balance": balance})


def _spent(conn: Connection, psn_no: str) -> int:
    """What the hub's own settlements took from this account (refunds give back)."""
    own = conn.execute(
        select(func.coalesce(func.sum(settlements.c.acct_pay), 0)).where(settlements.c.psn_no == psn_no)
    ).scalar_one()
    family = conn.execute(
        select(func.coalesce(func.sum(settlements.c.acct_mulaid_pay), 0)).where(settlements.c.family_payer == psn_no)
    ).scalar_one()
    return int(own) + int(family)
