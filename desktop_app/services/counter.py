"""What the counter's screens show, computed without Qt: the member card, the day's history, the day-end report."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from ..domain.case import Case, Member
from ..domain.identity import mask_certno
from ..domain.vocabulary import PROGRAMME_NAMES, RELATION_NAMES, SCHEME_NAMES, STATUS_NAMES
from ..domain.money import ZERO, from_fen
from ..domain.report import DayReport
from ..policy.engine import settle
from ..resources import rules_dir
from ..store import config, journal, members
from ..rule_files import cached_region



@dataclass(frozen=True)
class FamilyPayer:
    psn_no: str
    name: str
    relation: str  # 配偶 …
    balance: Decimal
    allowed: bool  # the region's rules allow this relation


@dataclass(frozen=True)
class MemberCard:
    psn_no: str
    name: str
    masked_certno: str
    age: int
    sex: str
    insutype: str
    status: str
    scheme: str
    programmes: tuple[str, ...]
    designated_facility: str | None
    balance: Decimal
    family: tuple[FamilyPayer, ...]
    deductible_paid: Decimal
    pool_paid: Decimal
    programme_paid: dict[str, Decimal]
    annual_cap: Decimal | None
    cap_left: Decimal | None
    rule_version: str


def member_card(conn: sqlite3.Connection, psn_no: str, today: dt.date) -> MemberCard:
    """The member panel: who, what they may use, and this year's usage against the cap."""
    record = members.get(conn, psn_no)
    region = config.region(conn)
    rules = cached_region(region, str(rules_dir())).at(today)
    usage = journal.usage(conn, psn_no, today.year)
    # An empty visit settles to nothing but tells the cap in force for this member today.
    probe = settle(Case(region=region, date=today, facility=config.facility(conn),
                        member=Member(record.status, record.scheme, frozenset(record.programmes), False,
                                      record.designated_facility),
                        items=(), usage=usage, published=config.published(conn, region)), rules)
    allowed = set(rules["account_relations"].value)
    family = tuple(FamilyPayer(owner.psn_no, owner.name, RELATION_NAMES.get(rel, rel), owner.account_balance,
                               rel in allowed)
                   for owner, rel in members.account_owners_for(conn, psn_no))
    return MemberCard(
        psn_no=record.psn_no, name=record.name, masked_certno=mask_certno(record.certno), age=record.age_on(today),
        sex="男" if record.sex == "1" else "女", insutype=record.insutype, status=STATUS_NAMES.get(record.status, record.status),
        scheme=SCHEME_NAMES.get(record.scheme, record.scheme),
        programmes=tuple(PROGRAMME_NAMES.get(p, p) for p in record.programmes),
        designated_facility=record.designated_facility, balance=record.account_balance, family=family,
        deductible_paid=usage.deductible_paid, pool_paid=usage.pool_paid, programme_paid=dict(usage.programme_paid),
        annual_cap=probe.annual_cap, cap_left=probe.cap_left_after, rule_version=probe.rule_version)


# --------------------------------------------------------------------------- the day's settlements


@dataclass(frozen=True)
class HistoryRow:
    uuid: str
    kind: str
    original_uuid: str | None
    created_at: str
    psn_no: str
    name: str
    operator: str
    total: Decimal
    fund: Decimal
    own_account: Decimal
    family_account: Decimal
    cash: Decimal
    synced: bool
    refunded: bool


def _day_bounds(day: dt.date) -> tuple[str, str]:
    return day.isoformat(), (day + dt.timedelta(days=1)).isoformat()


def history(conn: sqlite3.Connection, day: dt.date, text: str = "", limit: int = 500) -> list[HistoryRow]:
    """The day's settlements and refunds, newest first; ``text`` narrows by name, psn_no or UUID prefix."""
    start, end = _day_bounds(day)
    sql = ("SELECT s.uuid, s.kind, s.original_uuid, s.created_at, s.psn_no, m.name, s.operator, s.medfee_sumamt, "
           "s.hifp_pay, s.acct_pay, s.acct_mulaid_pay, s.psn_cash_pay, o.sent_at IS NOT NULL, "
           "EXISTS (SELECT 1 FROM settlements r WHERE r.original_uuid = s.uuid) "
           "FROM settlements s JOIN members m ON m.psn_no = s.psn_no LEFT JOIN outbox o ON o.uuid = s.uuid "
           "WHERE s.created_at >= ? AND s.created_at < ?")
    args: list[object] = [start, end]
    text = text.strip()
    if text:
        sql += " AND (m.name LIKE ? OR s.psn_no = ? OR s.uuid LIKE ?)"
        args += [text + "%", text, text.lower() + "%"]
    sql += " ORDER BY s.created_at DESC, s.rowid DESC LIMIT ?"
    args.append(limit)
    return [HistoryRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], *(from_fen(v) for v in r[7:12]), bool(r[12]), bool(r[13]))
            for r in conn.execute(sql, args)]


def day_report(conn: sqlite3.Connection, day: dt.date) -> DayReport:
    """日结: counts and net sums of the day (refunds subtract), by hour and by operator; unsynced entries."""
    start, end = _day_bounds(day)
    report = DayReport(day=day.isoformat(), facility=config.get(conn, "facility.name") or "")
    rows = conn.execute(
        "SELECT s.kind, s.created_at, s.operator, s.medfee_sumamt, s.hifp_pay, s.acct_pay, s.acct_mulaid_pay, "
        "s.psn_cash_pay, o.sent_at FROM settlements s LEFT JOIN outbox o ON o.uuid = s.uuid "
        "WHERE s.created_at >= ? AND s.created_at < ?", (start, end))
    for kind, created, operator, total, fund, own, family, cash, sent in rows:
        if kind == "refund":
            report.refunds += 1
            report.refunded_total += from_fen(-total)
        else:
            report.settlements += 1
        report.total += from_fen(total)
        report.fund += from_fen(fund)
        report.own_account += from_fen(own)
        report.family_account += from_fen(family)
        report.cash += from_fen(cash)
        report.unsynced += sent is None
        hour = int(created[11:13])
        count, amount = report.by_hour.get(hour, (0, ZERO))
        report.by_hour[hour] = (count + (kind != "refund"), amount + from_fen(total))
        count, amount = report.by_operator.get(operator, (0, ZERO))
        report.by_operator[operator] = (count + (kind != "refund"), amount + from_fen(total))
    return report


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """A text cell a spreadsheet will not run: one starting like a formula gets a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def day_report_csv(report: DayReport) -> str:
    """The day-end report as CSV (UTF-8 with BOM when written, so Excel opens the Chinese).

    Amounts and counts are written as numbers; names (facility, operator) are text cells made safe
    for spreadsheets, and quoted by the csv module where they hold commas or quotes.
    """
    import csv
    import io

    rows: list[list[object]] = [
        ["项目", "数值"], ["日期", report.day], ["机构", text_cell(report.facility)], ["结算笔数", report.settlements],
        ["退费笔数", report.refunds], ["医疗费总额(净)", report.total], ["统筹基金支付", report.fund],
        ["个人账户支付", report.own_account], ["共济账户支付", report.family_account], ["现金", report.cash],
        ["退费金额", report.refunded_total], ["未上传笔数", report.unsynced], [], ["时段", "笔数", "金额"]]
    rows += [[f"{hour:02d}:00", count, amount] for hour, (count, amount) in sorted(report.by_hour.items())]
    rows += [[], ["收款员", "笔数", "金额"]]
    rows += [[text_cell(name), count, amount] for name, (count, amount) in sorted(report.by_operator.items())]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def export_day(conn: sqlite3.Connection, day: dt.date, folder, printed_at: str) -> tuple:
    """Write the day-end report as PDF and CSV into ``folder``; returns both paths."""
    from pathlib import Path

    from ..receipts import dayend

    report = day_report(conn, day)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pdf_path, csv_path = folder / f"日结-{report.day}.pdf", folder / f"日结-{report.day}.csv"
    pdf_path.write_bytes(dayend.render(report, printed_at))
    csv_path.write_text(day_report_csv(report), encoding="utf-8-sig", newline="")
    return pdf_path, csv_path
