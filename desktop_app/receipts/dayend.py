"""The day-end report (日结) as an A4 PDF: the sums, each cashier's drawer (应交现金), a bar chart of the day by
hour, and the lines where each cashier and the supervisor sign the cash over."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ..domain.report import DayReport
from .content import money
from .font import FONT, register_font, width

MARGIN = 18 * mm
CHART_HEIGHT = 70 * mm
# The per-cashier table: (heading, right edge from the margin; the name column is left-aligned at 0)
CASHIER_COLUMNS = (
    ("收款员", None),
    ("结算", 52 * mm),
    ("退费", 68 * mm),
    ("医疗费（净）", 98 * mm),
    ("现金收款", 122 * mm),
    ("现金退款", 148 * mm),
    ("应交现金", 174 * mm),
)
SIGN_ROW = 34  # points: the cashier's line and the signature line under it


def render(report: DayReport, printed_at: str) -> bytes:
    register_font()
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=A4, invariant=1, initialFontName=FONT, initialFontSize=10)
    c.setTitle(f"日结 {report.day}")
    c.setCreator("共济前台")
    w, h = A4
    y = h - MARGIN
    c.setFont(FONT, 16)
    c.drawString(MARGIN, y - 16, f"门诊医保日结报表  {report.day}")
    y -= 26
    c.setFont(FONT, 10)
    c.drawString(MARGIN, y - 10, f"{report.facility}    打印时间 {printed_at}")
    y -= 24
    y = _sums(c, report, y)
    y = _cashiers(c, report, y - 8)
    y = _room(c, y - 14, CHART_HEIGHT)
    _chart(c, report, MARGIN, y, w - 2 * MARGIN, CHART_HEIGHT)
    _signatures(c, report, y - CHART_HEIGHT - 24)
    c.showPage()
    c.save()
    return buffer.getvalue()


def _room(c: Canvas, y: float, need: float) -> float:
    """``y`` if ``need`` points fit below it on this page, else the top of a new page."""
    if y - need >= MARGIN:
        return y
    c.showPage()
    return A4[1] - MARGIN


def _sums(c: Canvas, report: DayReport, y: float) -> float:
    rows = [
        ("结算笔数", str(report.settlements)),
        ("退费笔数", str(report.refunds)),
        ("医疗费总额（已扣退费）", money(report.total)),
        ("统筹基金支付", money(report.fund)),
        ("个人账户支付", money(report.own_account)),
        ("共济账户支付", money(report.family_account)),
        ("现金（已扣退费）", money(report.cash)),
        ("退费金额", money(report.refunded_total)),
        ("应交现金合计", money(report.cash_due)),
        ("尚未上传医保中心", f"{report.unsynced} 笔"),
        ("追溯码 售出 / 退费释放", f"{report.trace.codes_sold} / {report.trace.codes_released} 个"),
        ("无追溯码放行", f"{report.trace.waived_lines} 行"),
        ("中心报告重复追溯码", f"{len(report.trace.duplicates)} 个"),
    ]
    c.setFont(FONT, 11)
    for label, value in rows:
        c.drawString(MARGIN, y - 11, label)
        c.drawRightString(MARGIN + 90 * mm, y - 11, value)
        y -= 16
    c.setFont(FONT, 10)
    lines = [f"无码放行原因：{report.trace.waived_text()}"] if report.trace.waived else []
    lines += [
        f"重复追溯码 {d.code}：本机结算 {d.uuid[:8]}，首次由 {d.first_desk} 于 {d.first_sold_at[:16]} 售出"
        for d in report.trace.duplicates
    ]
    for text in lines:
        y = _room(c, y, 14)
        c.drawString(MARGIN, y - 10, text)
        y -= 14
    return y


def _cashiers(c: Canvas, report: DayReport, y: float) -> float:
    """按收款员: each cashier's settlements and the refunds of them, and the cash their drawer hands in."""
    c.setFont(FONT, 11)
    c.drawString(MARGIN, y - 11, "按收款员（退费计入原结算的收款员）")
    y -= 18
    rows = [[heading for heading, _ in CASHIER_COLUMNS]]
    rows += [
        [name, f"{d.settlements} 笔", f"{d.refunds} 笔", money(d.total), money(d.cash_taken)]
        + [money(d.cash_returned), money(d.cash_due)]
        for name, d in sorted(report.by_cashier.items())
    ]
    for n, cells in enumerate(rows):
        y = _room(c, y, 14)
        c.setFont(FONT, 10)
        for (_, right), cell in zip(CASHIER_COLUMNS, cells):
            if right is None:
                c.drawString(MARGIN + 2 * mm, y - 10, cell)
            else:
                c.drawRightString(MARGIN + right, y - 10, cell)
        if n == 0:
            c.setLineWidth(0.5)
            c.line(MARGIN, y - 13, MARGIN + 174 * mm, y - 13)
        y -= 15
    return y


def _signatures(c: Canvas, report: DayReport, y: float) -> None:
    """交款签字: for each cashier, the cash due, then 收款员 / 主管 / 日期 lines to sign (one set on an empty day)."""
    cashiers = sorted(report.by_cashier.items()) or [("", None)]
    y = _room(c, y, 20 + SIGN_ROW)
    c.setFont(FONT, 11)
    c.drawString(MARGIN, y - 11, "交款签字")
    y -= 20
    for name, drawer in cashiers:
        y = _room(c, y, SIGN_ROW)
        c.setFont(FONT, 10)
        if drawer is not None:
            c.drawString(MARGIN, y - 10, f"收款员 {name}    应交现金 {money(drawer.cash_due)} 元")
        baseline = y - 28
        x = MARGIN
        for label, line in (("收款员签字", 40 * mm), ("主管签字", 40 * mm), ("日期", 30 * mm)):
            c.drawString(x, baseline, f"{label}：")
            start = x + width(f"{label}：", 10) + 2
            c.setLineWidth(0.5)
            c.line(start, baseline - 2, start + line, baseline - 2)
            x = start + line + 6 * mm
        y -= SIGN_ROW + 6


def _chart(c: Canvas, report: DayReport, x: float, top: float, width: float, height: float) -> None:
    """Settlement count per hour, 07:00 to 21:00 (and any other hour that had one)."""
    hours = sorted(set(range(7, 22)) | set(report.by_hour))
    peak = max([count for count, _ in report.by_hour.values()] + [1])
    c.setFont(FONT, 11)
    c.drawString(x, top - 11, "各时段结算笔数")
    base = top - height
    plot = height - 30
    step = width / len(hours)
    c.setLineWidth(0.5)
    c.line(x, base, x + width, base)
    c.setFont(FONT, 7)
    for i, hour in enumerate(hours):
        count = report.by_hour.get(hour, (0, 0))[0]
        bar = plot * count / peak
        c.setFillGray(0.35)
        c.rect(x + i * step + step * 0.15, base, step * 0.7, bar, stroke=0, fill=1)
        c.setFillGray(0)
        c.drawCentredString(x + i * step + step / 2, base - 9, f"{hour:02d}")
        if count:
            c.drawCentredString(x + i * step + step / 2, base + bar + 2, str(count))
