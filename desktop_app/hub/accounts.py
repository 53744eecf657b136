"""Each member's figures at the hub: data and account balance, yearly usage counters, hospital stays.

A member's balance is always the opening balance less what the hub's own settlements took
(:func:`spend`); the agency's top-up or correction moves the opening figure (:func:`put_member`).
Usage counters start from the opening usage and move only by the hub's own figures (:func:`add_usage`).
Every function here runs in the caller's transaction (``schema.writing`` where it writes).
"""

from __future__ import annotations

import json

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from .schema import inpatient_episodes, insert_for, members, opening_balances, publish, settlements, upsert, usage


def put_member(conn: Connection, data: dict, balance: int) -> int:
    """A member's data and account balance from the agency (a top-up or correction moves the opening figure)."""
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


def spend(conn: Connection, psn_no: str, amount: int) -> None:
    """Take ``amount`` fen (a refund gives back: negative) from an account, and publish the new balance."""
    conn.execute(
        update(members).where(members.c.psn_no == psn_no).values(account_balance=members.c.account_balance - amount)
    )
    row = conn.execute(
        select(members.c.data, members.c.account_balance, members.c.region).where(members.c.psn_no == psn_no)
    ).first()
    publish(conn, "member", psn_no, row.region, {**json.loads(row.data), "account_balance": row.account_balance})


def add_usage(conn: Connection, psn_no: str, year: int, counter: str, amount: int) -> None:
    """Move one of the member's usage counters for the year by ``amount`` fen (a refund's is negative)."""
    stmt = insert_for(conn, usage).values(psn_no=psn_no, year=year, counter=counter, amount=amount)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["psn_no", "year", "counter"], set_={"amount": usage.c.amount + stmt.excluded.amount}
        )
    )


def inpatient_on(conn: Connection, psn_no: str, day: str) -> bool:
    """Whether the member was in hospital on ``day`` (no ordinary pooling then, where a document says so)."""
    e = inpatient_episodes.c
    stay = conn.execute(
        select(e.psn_no)
        .where((e.psn_no == psn_no) & (e.admitted <= day) & (e.discharged.is_(None) | (e.discharged >= day)))
        .limit(1)
    ).first()
    return stay is not None


def usage_before(conn: Connection, psn_no: str, year: int) -> dict[str, int]:
    """The member's usage counters for the year as the hub holds them now (what a settlement starts from)."""
    return {
        r.counter: r.amount
        for r in conn.execute(
            select(usage.c.counter, usage.c.amount).where((usage.c.psn_no == psn_no) & (usage.c.year == year))
        )
    }
