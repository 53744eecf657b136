"""The day's book at the counter: its settlements and refunds (当日结算), and the day-end report (日结), exported."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from ..domain.money import ZERO, from_fen
from ..domain.report import CashierFigures, DayReport, TraceDuplicate, TraceFigures
from ..store import config


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
    sql = (
        "SELECT s.uuid, s.kind, s.original_uuid, s.created_at, s.psn_no, m.name, s.operator, s.medfee_sumamt, "
        "s.hifp_pay, s.acct_pay, s.acct_mulaid_pay, s.psn_cash_pay, o.sent_at IS NOT NULL, "
        "EXISTS (SELECT 1 FROM settlements r WHERE r.original_uuid = s.uuid) "
        "FROM settlements s JOIN members m ON m.psn_no = s.psn_no LEFT JOIN outbox o ON o.uuid = s.uuid "
        "WHERE s.created_at >= ? AND s.created_at < ?"
    )
    args: list[object] = [start, end]
    text = text.strip()
    if text:
        sql += " AND (m.name LIKE ? OR s.psn_no = ? OR s.uuid LIKE ?)"
        args += [text + "%", text, text.lower() + "%"]
    sql += " ORDER BY s.created_at DESC, s.rowid DESC LIMIT ?"
    args.append(limit)
    return [
        HistoryRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], *(from_fen(v) for v in r[7:12]), bool(r[12]), bool(r[13]))
        for r in conn.execute(sql, args)
    ]


def day_report(conn: sqlite3.Connection, day: dt.date) -> DayReport:
    """日结: counts and net sums of the day (refunds subtract), by hour and by cashier; unsynced entries.

    A refund is booked to the cashier of record, the operator of the settlement it reverses: the cash
    goes back out of that cashier's drawer, whichever supervisor authorised it.
    """
    start, end = _day_bounds(day)
    report = DayReport(day=day.isoformat(), facility=config.get(conn, "facility.name") or "")
    rows = conn.execute(
        "SELECT s.kind, s.created_at, COALESCE(orig.operator, s.operator), s.medfee_sumamt, s.hifp_pay, "
        "s.acct_pay, s.acct_mulaid_pay, s.psn_cash_pay, o.sent_at FROM settlements s "
        "LEFT JOIN outbox o ON o.uuid = s.uuid LEFT JOIN settlements orig ON orig.uuid = s.original_uuid "
        "WHERE s.created_at >= ? AND s.created_at < ?",
        (start, end),
    )
    for kind, created, cashier, total, fund, own, family, cash, sent in rows:
        refund = kind == "refund"
        if refund:
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
        report.by_hour[hour] = (count + (not refund), amount + from_fen(total))
        _book(report.by_cashier.setdefault(cashier, CashierFigures()), refund, from_fen(total), from_fen(cash))
    report.trace = trace_figures(conn, start, end)
    return report


def trace_figures(conn: sqlite3.Connection, start: str, end: str) -> TraceFigures:
    """The day's traceability codes: sold in its settlements, released by its refunds, waived lines by reason, and
    the duplicates the hub reported for its settlements (known once they were synced)."""
    day = "SELECT uuid FROM settlements WHERE created_at >= ? AND created_at < ?"
    figures = TraceFigures(
        codes_sold=conn.execute(
            f"SELECT count(*) FROM trace_codes WHERE settlement_uuid IN ({day})", (start, end)
        ).fetchone()[0],
        codes_released=conn.execute(
            f"SELECT count(*) FROM trace_codes WHERE released_by IN ({day})", (start, end)
        ).fetchone()[0],
    )
    for reason, lines in conn.execute(
        f"SELECT reason, count(*) FROM trace_waivers WHERE settlement_uuid IN ({day}) GROUP BY reason", (start, end)
    ):
        figures.waived[reason] = lines
    figures.duplicates = [
        TraceDuplicate(*row)
        for row in conn.execute(
            f"SELECT code, uuid, first_desk, first_sold_at FROM trace_notices WHERE uuid IN ({day}) ORDER BY at, code",
            (start, end),
        )
    ]
    return figures


def _book(drawer: CashierFigures, refund: bool, total: Decimal, cash: Decimal) -> None:
    drawer.total += total
    if refund:
        drawer.refunds += 1
        drawer.cash_returned -= cash  # a refund's cash is negative: what went back to the member
    else:
        drawer.settlements += 1
        drawer.cash_taken += cash


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
        ["项目", "数值"],
        ["日期", report.day],
        ["机构", text_cell(report.facility)],
        ["结算笔数", report.settlements],
        ["退费笔数", report.refunds],
        ["医疗费总额(净)", report.total],
        ["统筹基金支付", report.fund],
        ["个人账户支付", report.own_account],
        ["共济账户支付", report.family_account],
        ["现金", report.cash],
        ["应交现金", report.cash_due],
        ["退费金额", report.refunded_total],
        ["未上传笔数", report.unsynced],
        ["追溯码（售出）", report.trace.codes_sold],
        ["追溯码（退费释放）", report.trace.codes_released],
        ["无码放行行数", report.trace.waived_lines],
        *[[f"无码放行：{text_cell(reason)}", n] for reason, n in sorted(report.trace.waived.items())],
        ["中心报告重复追溯码", len(report.trace.duplicates)],
        [],
        ["时段", "笔数", "金额"],
    ]
    rows += [[f"{hour:02d}:00", count, amount] for hour, (count, amount) in sorted(report.by_hour.items())]
    if report.trace.duplicates:
        rows += [[], ["重复追溯码", "本机结算", "首次售出收款台", "首次售出时间"]]
        rows += [[text_cell(d.code), d.uuid, text_cell(d.first_desk), d.first_sold_at] for d in report.trace.duplicates]
    rows += [[], ["收款员", "笔数", "金额", "退费笔数", "现金收款", "现金退款", "应交现金"]]
    rows += [
        [text_cell(name), c.settlements, c.total, c.refunds, c.cash_taken, c.cash_returned, c.cash_due]
        for name, c in sorted(report.by_cashier.items())
    ]
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
