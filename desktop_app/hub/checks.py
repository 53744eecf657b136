"""What the hub proves about itself, and what it lists for a fund auditor (``hub check``).

:func:`check` proves every counter and balance from its sources (the opening figures and the
journal of settlements); :func:`for_review` lists clawbacks, differences, set-aside and rejected
records, each with its reason.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from ..domain.vocabulary import AMOUNTS, COUNTERS
from .schema import (
    members,
    opening_balances,
    opening_usage,
    rejected,
    set_aside,
    settlements,
    trace_reviews,
    usage,
)


def check(engine: Engine) -> list[str]:
    """The hub's invariants, each figure proved from its sources:

    * usage = opening usage + the journal, per member, year and counter;
    * account balance = opening balance − what the journal's settlements took;
    * every journal entry adds up, and no counter or balance is negative;
    * every refund negates its original exactly.
    """
    with engine.connect() as conn:
        return [*_usage_problems(conn), *_balance_problems(conn), *_journal_problems(conn)]


def _usage_problems(conn: Connection) -> list[str]:
    """Usage = opening usage + the journal's counters, per member, year and counter; none negative."""
    problems = []
    expected: dict[tuple, int] = {}
    for r in conn.execute(select(opening_usage)):
        expected[(r.psn_no, r.year, r.counter)] = r.amount
    sums = [func.sum(settlements.c[c]) for c in COUNTERS]
    for psn_no, year, *amounts in conn.execute(
        select(settlements.c.psn_no, settlements.c.year, *sums).group_by(settlements.c.psn_no, settlements.c.year)
    ):
        for counter, amount in zip(COUNTERS, amounts):
            if amount:
                key = (psn_no, year, counter)
                expected[key] = expected.get(key, 0) + int(amount)
    actual = {(r.psn_no, r.year, r.counter): r.amount for r in conn.execute(select(usage))}
    for key in sorted(set(expected) | set(actual)):
        if expected.get(key, 0) != actual.get(key, 0):
            problems.append(f"usage {key}: {actual.get(key, 0)} ≠ opening + journal {expected.get(key, 0)}")
        if actual.get(key, 0) < 0:
            problems.append(f"usage {key}: negative ({actual[key]})")
    return problems


def _balance_problems(conn: Connection) -> list[str]:
    """Balance = opening balance − the account payments of the journal (own and family); none negative."""
    problems = []
    spent: dict[str, int] = {}
    for psn_no, amount in conn.execute(
        select(settlements.c.psn_no, func.sum(settlements.c.acct_pay)).group_by(settlements.c.psn_no)
    ):
        spent[psn_no] = spent.get(psn_no, 0) + int(amount or 0)
    for psn_no, amount in conn.execute(
        select(settlements.c.family_payer, func.sum(settlements.c.acct_mulaid_pay))
        .where(settlements.c.family_payer.is_not(None))
        .group_by(settlements.c.family_payer)
    ):
        spent[psn_no] = spent.get(psn_no, 0) + int(amount or 0)
    opening = dict(conn.execute(select(opening_balances.c.psn_no, opening_balances.c.amount)).all())
    for psn_no, balance in conn.execute(select(members.c.psn_no, members.c.account_balance)):
        want = opening.get(psn_no, 0) - spent.get(psn_no, 0)
        if balance != want:
            problems.append(f"balance {psn_no}: {balance} ≠ opening − journal {want}")
        if balance < 0:
            problems.append(f"balance {psn_no}: negative ({balance})")
    return problems


def _journal_problems(conn: Connection) -> list[str]:
    """Every entry's payment split adds up to its total; every refund is its original negated."""
    problems = []
    amounts = [settlements.c[c] for c in AMOUNTS]  # the total, then who paid it
    for row in conn.execute(
        select(settlements.c.uuid, *amounts).where(amounts[1] + amounts[2] + amounts[3] + amounts[4] != amounts[0])
    ):
        problems.append(f"settlement {row.uuid}: the payment split does not add up")
    original = settlements.alias("original")
    fields = (*AMOUNTS, *COUNTERS)
    for row in conn.execute(
        select(settlements.c.uuid, *(settlements.c[f] + original.c[f] for f in fields)).join(
            original, original.c.uuid == settlements.c.original_uuid
        )
    ):
        if any(row[1:]):
            problems.append(f"refund {row.uuid}: does not negate its original exactly")
    return problems


def for_review(engine: Engine) -> dict[str, list[dict]]:
    """What a fund auditor goes through: clawbacks, differences, set-aside and rejected records, with their reasons,
    and the traceability codes sold again while a first sale stood."""
    with engine.connect() as conn:

        def rows(query) -> list[dict]:
            return [dict(r._mapping) for r in conn.execute(query)]

        s = settlements.c
        review = [s.uuid, s.desk_id, s.psn_no, s.review_amount, s.review_reason]
        return {
            "clawbacks": rows(select(*review).where(s.review == "clawback").order_by(s.uuid)),
            "differences": rows(select(*review).where(s.review == "difference").order_by(s.uuid)),
            "set_aside": rows(
                select(set_aside.c.uuid, set_aside.c.desk_id, set_aside.c.reason, set_aside.c.received_at).order_by(
                    set_aside.c.received_at, set_aside.c.uuid
                )
            ),
            "rejected": rows(
                select(rejected.c.id, rejected.c.desk_id, rejected.c.reason, rejected.c.received_at).order_by(
                    rejected.c.id
                )
            ),
            "trace_codes_resold": rows(  # 回流药 suspected: a code sold again while its first sale stood
                select(*trace_reviews.c).order_by(trace_reviews.c.found_at, trace_reviews.c.code, trace_reviews.c.uuid)
            ),
        }


def clawbacks(engine: Engine) -> list[dict]:
    """The settlements whose member paid the desk too little cash: the agency recovers the difference."""
    return for_review(engine)["clawbacks"]
