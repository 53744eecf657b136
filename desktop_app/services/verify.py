"""`verify`: the database is intact and every derived figure equals the journal it comes from."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal

from ..domain.money import to_fen
from ..domain.vocabulary import AMOUNTS, COUNTERS
from ..store import audit


def verify(conn: sqlite3.Connection) -> list[str]:
    """Every problem found; an empty list means all checks hold."""
    problems: list[str] = []
    integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if integrity != ["ok"]:
        problems.extend(f"integrity_check: {line}" for line in integrity)
    problems += _usage_matches_journal(conn)
    problems += _splits_add_up(conn)
    problems += _refunds(conn)
    problems += _accounts_match_ledger(conn)
    problems += _trace_codes_follow_refunds(conn)
    problems += [
        f"outbox: 结算 {u} 没有待同步记录"
        for (u,) in conn.execute("SELECT uuid FROM settlements WHERE uuid NOT IN (SELECT uuid FROM outbox)")
    ]
    problems += audit.verify_chain(conn)
    problems += _settlements_match_audit(conn)
    problems += _guarded_tables_match_audit(conn)
    return problems


def _settlements_match_audit(conn: sqlite3.Connection) -> list[str]:
    """Every journal entry has its audit entry, and says what that entry says (operator, member, amounts)."""
    problems = []
    rows = conn.execute(
        f"SELECT s.uuid, s.operator, s.psn_no, {', '.join('s.' + a for a in AMOUNTS)}, a.operator, a.detail "
        "FROM settlements s LEFT JOIN audit_log a ON a.subject = s.uuid "
        "AND a.action = CASE s.kind WHEN 'settlement' THEN 'settle' ELSE 'refund' END"
    )
    for uuid, operator, psn_no, *rest in rows:
        *amounts, audited_by, detail = rest
        if detail is None:
            problems.append(f"audit_log: 结算 {uuid} 没有审计记录（审计记录被删除）")
            continue
        recorded = json.loads(detail)
        if audited_by != operator:
            problems.append(f"settlements: {uuid} 的操作员 {operator} 与审计记录（{audited_by}）不符")
        if recorded.get("psn_no", psn_no) != psn_no:
            problems.append(f"settlements: {uuid} 的参保人与审计记录不符")
        for name, fen in zip(AMOUNTS, amounts):
            if name in recorded and to_fen(Decimal(recorded[name])) != fen:
                problems.append(f"settlements: {uuid} 的 {name} 为 {fen} 分，审计记录为 {recorded[name]} 元（被改动）")
    return problems


def _guarded_tables_match_audit(conn: sqlite3.Connection) -> list[str]:
    """Settings, operators, catalogue and published figures are as the newest audited change left them."""
    recorded = audit.last_state(conn)
    if recorded is None:
        return ["audit_log: 没有设置、操作员、目录与公布数的审计记录（审计记录被删除）"]
    now = audit.state_digests(conn)
    names = {"settings": "设置", "operators": "操作员", "catalogue": "医保目录", "published_figures": "公布数"}
    return [
        f"{table}: {names[table]}与最近一次审计记录不符（在审计之外被改动）"
        for table in now
        if recorded.get(table) != now[table]
    ]


def _usage_matches_journal(conn: sqlite3.Connection) -> list[str]:
    sums = ", ".join(f"sum({c})" for c in COUNTERS)
    journal = {}
    for psn_no, year, *amounts in conn.execute(f"SELECT psn_no, year, {sums} FROM settlements GROUP BY psn_no, year"):
        for counter, amount in zip(COUNTERS, amounts):
            if amount:
                journal[(psn_no, year, counter)] = amount
    for psn_no, year, counter, delta in conn.execute(
        "SELECT psn_no, year, counter, sum(delta) FROM usage_adjustments GROUP BY psn_no, year, counter"
    ):
        journal[(psn_no, year, counter)] = journal.get((psn_no, year, counter), 0) + delta  # the hub's corrections
    journal = {k: v for k, v in journal.items() if v}
    table = {(p, y, c): a for p, y, c, a in conn.execute("SELECT psn_no, year, counter, amount FROM usage") if a}
    problems = []
    for key in sorted(set(journal) | set(table)):
        if journal.get(key, 0) != table.get(key, 0):
            problems.append(
                f"usage: {key[0]} {key[1]} {key[2]} 为 {table.get(key, 0)} 分，"
                f"流水与中心校正合计 {journal.get(key, 0)} 分"
            )
    return problems


def _splits_add_up(conn: sqlite3.Connection) -> list[str]:
    return [
        f"settlements: {u} 统筹+个账+共济+现金 ≠ 总额"
        for (u,) in conn.execute(
            "SELECT uuid FROM settlements WHERE hifp_pay + acct_pay + acct_mulaid_pay + psn_cash_pay != medfee_sumamt"
        )
    ]


def _refunds(conn: sqlite3.Connection) -> list[str]:
    problems = [
        f"settlements: 原结算 {o} 有 {n} 笔退费"
        for o, n in conn.execute(
            "SELECT original_uuid, count(*) FROM settlements WHERE original_uuid IS NOT NULL "
            "GROUP BY original_uuid HAVING count(*) > 1"
        )
    ]
    problems += [
        f"settlements: 退费 {u} 指向的 {o} 不是一笔结算"
        for u, o in conn.execute(
            "SELECT r.uuid, r.original_uuid FROM settlements r LEFT JOIN settlements s ON s.uuid = r.original_uuid "
            "WHERE r.kind = 'refund' AND (s.uuid IS NULL OR s.kind != 'settlement')"
        )
    ]
    problems += [
        f"settlements: 退费 {u} 金额与原结算不相反"
        for (u,) in conn.execute(
            "SELECT r.uuid FROM settlements r JOIN settlements s ON s.uuid = r.original_uuid "
            "WHERE r.medfee_sumamt != -s.medfee_sumamt OR r.hifp_pay != -s.hifp_pay OR r.acct_pay != -s.acct_pay "
            "OR r.acct_mulaid_pay != -s.acct_mulaid_pay OR r.psn_cash_pay != -s.psn_cash_pay"
        )
    ]
    return problems


def _accounts_match_ledger(conn: sqlite3.Connection) -> list[str]:
    return [
        f"account: {p} 余额 {b} 分，账户流水合计 {s} 分"
        for p, b, s in conn.execute(
            "SELECT m.psn_no, m.account_balance, coalesce(sum(e.delta), 0) FROM members m "
            "LEFT JOIN account_entries e ON e.psn_no = m.psn_no GROUP BY m.psn_no "
            "HAVING m.account_balance != coalesce(sum(e.delta), 0)"
        )
    ]


def _trace_codes_follow_refunds(conn: sqlite3.Connection) -> list[str]:
    """A code is released by the refund of its own settlement, and a refunded settlement's codes all are."""
    wrong = conn.execute(
        "SELECT t.code, t.settlement_uuid FROM trace_codes t LEFT JOIN settlements r ON r.uuid = t.released_by "
        "WHERE t.released_by IS NOT NULL AND (r.original_uuid IS NULL OR r.original_uuid != t.settlement_uuid)"
    ).fetchall()
    held = conn.execute(
        "SELECT t.code, t.settlement_uuid FROM trace_codes t JOIN settlements r ON r.original_uuid = t.settlement_uuid "
        "WHERE t.released_by IS NULL"
    ).fetchall()
    return [f"trace_codes: 追溯码 {code}（结算 {uuid}）由另一笔退费释放" for code, uuid in wrong] + [
        f"trace_codes: 追溯码 {code}（结算 {uuid}）已退费却未释放" for code, uuid in held
    ]
